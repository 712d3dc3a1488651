export * from './init-tracing';
export * from './tracer';
export * from './http-tracing.middleware';
export * from './message-tracing';
