export * from './config/common-env';
export * from './config/validate-env';
export * from './database';
export * from './service-definition';
export * from './service.module';
export * from './bootstrap';
export * from './health/health.controller';
export * from './http/correlation';
