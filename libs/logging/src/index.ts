export * from './log-context';
export * from './context-logger';
export * from './redact';
