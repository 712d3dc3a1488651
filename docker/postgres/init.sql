-- One database per app (see ORDER_DATABASE_URL, PAYMENT_DATABASE_URL,
-- NOTIFICATION_DATABASE_URL). Run once by the postgres:15 image on an empty
-- data volume; the apps create their own tables.
CREATE DATABASE orders;
CREATE DATABASE payments;
CREATE DATABASE notifications;
CREATE DATABASE console;

-- Least privilege, as `npm run infra:up` sets it up (libs/infra/src/database-roles.ts):
-- <app>_owner owns the database and its schema and runs the migrations;
-- <app>_app, the runtime role, may only read and write the rows.
CREATE ROLE order_owner LOGIN PASSWORD 'order_owner';
CREATE ROLE order_app LOGIN PASSWORD 'order_app';
CREATE ROLE payment_owner LOGIN PASSWORD 'payment_owner';
CREATE ROLE payment_app LOGIN PASSWORD 'payment_app';
CREATE ROLE notification_owner LOGIN PASSWORD 'notification_owner';
CREATE ROLE notification_app LOGIN PASSWORD 'notification_app';

ALTER DATABASE orders OWNER TO order_owner;
REVOKE ALL ON DATABASE orders FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE orders TO order_app;
\connect orders
ALTER SCHEMA public OWNER TO order_owner;
GRANT USAGE ON SCHEMA public TO order_app;
ALTER DEFAULT PRIVILEGES FOR ROLE order_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO order_app;
ALTER DEFAULT PRIVILEGES FOR ROLE order_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO order_app;

\connect postgres
ALTER DATABASE payments OWNER TO payment_owner;
REVOKE ALL ON DATABASE payments FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE payments TO payment_app;
\connect payments
ALTER SCHEMA public OWNER TO payment_owner;
GRANT USAGE ON SCHEMA public TO payment_app;
ALTER DEFAULT PRIVILEGES FOR ROLE payment_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO payment_app;
ALTER DEFAULT PRIVILEGES FOR ROLE payment_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO payment_app;

\connect postgres
ALTER DATABASE notifications OWNER TO notification_owner;
REVOKE ALL ON DATABASE notifications FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE notifications TO notification_app;
\connect notifications
ALTER SCHEMA public OWNER TO notification_owner;
GRANT USAGE ON SCHEMA public TO notification_app;
ALTER DEFAULT PRIVILEGES FOR ROLE notification_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO notification_app;
ALTER DEFAULT PRIVILEGES FOR ROLE notification_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO notification_app;
