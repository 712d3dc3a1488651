export * from './inbox.migration';
export * from './dead-letter';
export * from './event-context';
export * from './failure-classification';
export * from './kafka-events.transport';
export * from './transport-aware-exception.filter';
export * from './connect-events-transport';
