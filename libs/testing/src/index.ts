export * from './eventually';
export * from './test-database';
export * from './topic-recorder';
export * from './private-kafka';
export * from './private-postgres';
