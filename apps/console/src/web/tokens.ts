/** Injection tokens of the console module. */
export const APP_CLIENTS = Symbol('APP_CLIENTS');
export const SAMPLE_INTERVAL_MS = Symbol('SAMPLE_INTERVAL_MS');
export const KAFKA_CONNECTION = Symbol('KAFKA_CONNECTION');
