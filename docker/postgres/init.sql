-- One database per app (see ORDER_DATABASE_URL, PAYMENT_DATABASE_URL,
-- NOTIFICATION_DATABASE_URL). Run once by the postgres:15 image on an empty
-- data volume; the apps create their own tables.
CREATE DATABASE orders;
CREATE DATABASE payments;
CREATE DATABASE notifications;
CREATE DATABASE console;
