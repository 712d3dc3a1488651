import { connectEventsTransport, KafkaEventsTransport } from '@lib/messaging';
import { ContextLogger } from '@lib/logging';
import { httpTracingMiddleware, initTracing, tracesUrl } from '@lib/tracing';
import { ArgumentMetadata, BadRequestException, INestApplication, Type, ValidationError, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder } from '@nestjs/swagger';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { CommonEnv } from './config/common-env';
import { InvalidConfigError, validateEnv } from './config/validate-env';
import { correlationMiddleware } from './http/correlation';
import { describeCommonHttp, serveOpenApiDocument } from './http/openapi';
import { httpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { ServiceMetrics } from './metrics/service-metrics';
import { migrateSchema } from './database';
import { ServiceDefinition } from './service-definition';
import { ServiceRootModule } from './service.module';
import { ShutdownState } from './shutdown';

/**
 * Loads `.env` (if present; real environment variables win) and validates it,
 * or exits with one line per bad variable, each naming it.
 */
export function loadEnvOrExit<E extends CommonEnv>(definition: ServiceDefinition<E>): E {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    return validateEnv(definition.env, process.env);
  } catch (error) {
    if (error instanceof InvalidConfigError) {
      process.stderr.write(
        error.message
          .split('\n')
          .map((line) => `${definition.app}: ${line}\n`)
          .join(''),
      );
      process.exit(1);
    }
    throw error;
  }
}

/**
 * Boots one app of the system as a Nest hybrid application:
 * validated config (once per boot; the app's modules get it as `SERVICE_ENV`)
 * → database migrations (one instance at a time) → outbox relay and HTTP
 * (the API serves as soon as its database is ready) → the Kafka consumer
 * joins its group in the background, retried with backoff until it has
 * joined (a group rebalancing after a crash, or a broker that is away, does
 * not keep the HTTP API or the probes closed). SIGTERM/SIGINT: see
 * GracefulShutdown (HTTP and consumer drain, relay flushes, pools close).
 */
export async function bootstrapService<E extends CommonEnv>(
  rootModule: Type<unknown>,
  definition: ServiceDefinition<E>,
  options: { port?: number } = {},
): Promise<INestApplication> {
  const env = loadEnvOrExit(definition);
  const logger = new ContextLogger(definition.app, env.LOG_FORMAT, env.LOG_LEVEL);
  if (initTracing({ serviceName: definition.app, otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT }) && env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    logger.log(`tracing on: spans go to ${tracesUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT)}`);
  }
  const app = await NestFactory.create(ServiceRootModule.boot(rootModule, env), { logger, abortOnError: false });
  app.enableShutdownHooks();
  app.use(correlationMiddleware);
  app.use(httpTracingMiddleware({ app: definition.app, attributes: (req) => ({ 'app.correlation_id': (req as { correlationId?: string }).correlationId }) }));
  app.use(httpMetricsMiddleware(app.get(ServiceMetrics)));
  app.useGlobalPipes(requestValidation());

  let applied: string[];
  try {
    applied = await migrateSchema(app.get(DataSource), definition, definition.migrationDatabaseUrl?.(env) ?? definition.databaseUrl(env));
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  logger.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');

  const transport = app.get(KafkaEventsTransport);
  connectEventsTransport(app, transport);
  serveOpenApi(app, definition.app);

  const port = options.port ?? definition.port(env);
  await app.listen(port);
  const url = `http://localhost:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  logger.log(
    `${definition.app} serves HTTP on ${url} (readiness: ${url}/health/ready, everything: ${url}/health); the consumer joins its group in the background`,
  );
  joinInBackground(app, transport, app.get(ShutdownState), logger, env.CONSUMER_JOIN_DELAY_MS);
  return app;
}

/**
 * Starts the consumer without holding up the HTTP API, after `delayMs`
 * (CONSUMER_JOIN_DELAY_MS); a failed start (broker away) is retried with
 * backoff until it joins or the app stops.
 */
function joinInBackground(app: INestApplication, transport: KafkaEventsTransport, shutdown: ShutdownState, logger: ContextLogger, delayMs: number): void {
  const started = Date.now();
  const attempt = async (n: number): Promise<void> => {
    if (shutdown.draining) return;
    try {
      await app.startAllMicroservices();
      logger.log(`consumer started in ${Date.now() - started} ms`, 'Bootstrap');
    } catch (error) {
      if (shutdown.draining) return;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(n, 6));
      logger.warn(`consumer could not start (${(error as Error).message}); trying again in ${delay} ms`, 'Bootstrap');
      await transport.close().catch(() => undefined);
      setTimeout(() => void attempt(n + 1), delay).unref();
    }
  };
  if (delayMs > 0) {
    logger.log(`the consumer joins its group in ${delayMs} ms (CONSUMER_JOIN_DELAY_MS)`, 'Bootstrap');
    setTimeout(() => void attempt(0), delayMs).unref();
  } else void attempt(0);
}

/** Paths that answer without the database, so never with its 503. */
const WITHOUT_DATABASE = ['/metrics', '/health/live', '/admin/consumer'];

/** OpenAPI of the app's HTTP API: the page at `/docs`, the document at `/docs/openapi.json`. */
function serveOpenApi(app: INestApplication, name: string): void {
  const builder = new DocumentBuilder()
    .setTitle(`${name} service`)
    .setDescription(
      `HTTP API of the ${name} app. Every answer carries X-Correlation-Id (the request's, or a fresh one); errors have the ErrorResponse body. ` +
        `Events it publishes and consumes: docs/asyncapi.yaml and docs/services/${name}.md.`,
    )
    .setVersion('1')
    .addBearerAuth();
  serveOpenApiDocument(app, builder, (document) =>
    describeCommonHttp(document, { correlationId: true, databaseUnavailable: (path) => !WITHOUT_DATABASE.includes(path) }),
  );
}

/**
 * Request bodies and queries are validated against their DTO classes:
 * unknown fields are rejected (not silently dropped), and the 400 lists every
 * problem with its path, e.g. `items.0.quantity must not be greater than 1000`.
 */
function requestValidation(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new BadRequestException({ statusCode: 400, error: 'Bad Request', message: flatten(errors) }),
  });
}

/**
 * Keys that reach prototypes when copied: `JSON.parse` makes them ordinary own
 * properties, and class-transformer then skips them silently instead of the
 * whitelist reporting them. They count as unknown fields, at any depth.
 */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // Only where a DTO class is validated: a consumed event's payload (typed as an interface) passes through
    // this global pipe too, and is checked by the event contract instead — walking it here cost ~2 % of a consumer's CPU.
    const found = this.toValidate(metadata) ? prototypeKeys(value) : [];
    if (found.length) {
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: found.map((path) => `property ${path} should not exist`) });
    }
    return super.transform(value, metadata);
  }
}

function prototypeKeys(value: unknown, prefix = '', depth = 0): string[] {
  if (value === null || typeof value !== 'object' || depth > 32) return [];
  return Object.keys(value).flatMap((key) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const own = PROTOTYPE_KEYS.includes(key) ? [path] : [];
    return [...own, ...prototypeKeys((value as Record<string, unknown>)[key], path, depth + 1)];
  });
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((e) => {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? `${path}${m.slice(e.property.length)}` : `${path}: ${m}`));
    return [...own, ...flatten(e.children ?? [], path)];
  });
}
