import { ConsoleLogger, ConsoleLoggerOptions, LogLevel } from '@nestjs/common';
import { currentLogContext } from './log-context';
import { maskLogArgument, maskSecrets } from './redact';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * Nest's console logger plus the current request's or message's context
 * (correlationId, eventId, topic, orderId) on every line:
 * - `json`: one JSON object per line — `{"level":"log","service":"order","correlationId":…,"message":…}`;
 * - `pretty`: Nest's human format with the context after the logger name.
 * Credentials inside URLs are masked in every message and stack trace
 * ({@link maskSecrets}), whoever logs them (the app, Nest, kafkajs, TypeORM).
 */
export class ContextLogger extends ConsoleLogger {
  constructor(
    private readonly service: string,
    format: 'json' | 'pretty',
    level: string,
    options: ConsoleLoggerOptions = {},
  ) {
    super(service, { json: format === 'json', logLevels: LEVELS.slice(0, LEVELS.indexOf(level as LogLevel) + 1), ...options });
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    super.printMessages(
      messages.map(maskLogArgument),
      context,
      logLevel,
      writeStreamType,
      typeof errorStack === 'string' ? maskSecrets(errorStack) : errorStack,
    );
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(stack && maskSecrets(stack));
  }

  protected override getJsonLogObject(message: unknown, options: Parameters<ConsoleLogger['getJsonLogObject']>[1]) {
    return { ...super.getJsonLogObject(message, options), service: this.service, ...currentLogContext() };
  }

  protected override formatContext(context: string): string {
    const fields = Object.entries(currentLogContext())
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return super.formatContext(context) + (fields ? `{${fields}} ` : '');
  }
}
