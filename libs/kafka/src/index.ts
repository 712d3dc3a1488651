export * from './kafka-config';
export * from './codecs';
export * from './kafka-errors';
export * from './producer';
export * from './consumer-runner';
export * from './admin';
export * from './kafka-probe';
export * from './topic-reader';
