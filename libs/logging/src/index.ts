export * from './log-context';
export * from './context-logger';
