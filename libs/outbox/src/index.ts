export * from './outbox.migration';
export * from './outbox-writer';
export * from './event-publisher';
export * from './outbox-relay';
export * from './relay-lease';
export * from './relay-lease.migration';
export * from './parked-rows';
export * from './listened-pg-client';
