import { ContextLogger } from '@lib/logging';
import { describeCommonHttp, InvalidConfigError, runMigrationsExclusively, serveOpenApiDocument, validateEnv } from '@lib/service';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { ConsoleEnv } from './config/console.env';
import { ConsoleModule } from './console.module';
import { DeadLetterIngester } from './dead-letters/dead-letter-ingester';
import { Sampler } from './overview/sampler';

export interface StartedConsole {
  app: INestApplication;
  url: string;
  /** The token its changes need (CONSOLE_ADMIN_TOKEN, or the generated one). */
  token: string;
}

/** The console's configuration from `.env` and the environment (real variables win); throws InvalidConfigError listing every bad variable. */
export function consoleEnv(env: NodeJS.ProcessEnv = process.env): ConsoleEnv {
  if (env === process.env && existsSync('.env')) process.loadEnvFile('.env');
  return validateEnv(ConsoleEnv, env);
}

/**
 * Boots the ops console: migrations of its own database (one instance at a
 * time), its dead-letter consumer, the sampler, then HTTP. Without
 * CONSOLE_ADMIN_TOKEN it generates a token and prints it: on a laptop that
 * is the token to sign in with.
 */
export async function bootstrapConsole(options: { env?: ConsoleEnv; port?: number } = {}): Promise<StartedConsole> {
  const env = options.env ?? consoleEnv();
  const logger = new ContextLogger('console', env.LOG_FORMAT, env.LOG_LEVEL);
  const generated = !env.CONSOLE_ADMIN_TOKEN;
  const token = env.CONSOLE_ADMIN_TOKEN || randomBytes(18).toString('base64url');
  const app = await NestFactory.create<NestExpressApplication>(ConsoleModule.forEnv(env, token), { logger, abortOnError: false });
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  const applied = await runMigrationsExclusively(app.get(DataSource));
  logger.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');
  await app.get(DeadLetterIngester).start();
  app.get(Sampler).start();
  const builder = new DocumentBuilder()
    .setTitle('ops console')
    .setDescription('JSON API of the ops console; the pages are at /. Changes need Authorization: Bearer <CONSOLE_ADMIN_TOKEN>.')
    .setVersion('1')
    .addBearerAuth();
  serveOpenApiDocument(app, builder, (d) => describeCommonHttp(d, { correlationId: false, databaseUnavailable: () => false }));
  await app.listen(options.port ?? env.CONSOLE_PORT);
  const url = `http://localhost:${(app.getHttpServer().address() as AddressInfo).port}`;
  logger.log(`console is up on ${url}`);
  if (generated) logger.log(`CONSOLE_ADMIN_TOKEN is not set: sign in to act with the generated token ${token}`);
  return { app, url, token };
}

export { InvalidConfigError };
