import {
  EventHeaders,
  eventJsonSchemas,
  EVENT_PUBLISHERS,
  EVENT_SUBSCRIPTIONS,
  EVENT_TYPES,
  DEAD_LETTER_TOPICS,
  JsonSchema,
  registeredEvents,
} from '@lib/events';
import { DeadLetterHeaders } from '@lib/messaging/dead-letter';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const camel = (topic: string) => topic.replace(/[.-](\w)/g, (_, c: string) => c.toUpperCase());
const fixture = (type: string, version: number) =>
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'libs', 'events', 'fixtures', `${type}.v${version}.json`), 'utf8')) as unknown;

/** Moves a schema's local `definitions` into components/schemas and points its `$ref`s there. */
function hoist(schema: JsonSchema, into: Record<string, JsonSchema>): JsonSchema {
  const { $schema: _s, $id: _i, definitions, ...rest } = schema as JsonSchema & { definitions?: Record<string, JsonSchema> };
  const rewrite = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(rewrite)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value).map(([k, v]) => [
              k,
              k === '$ref' && typeof v === 'string' ? v.replace('#/definitions/', '#/components/schemas/') : rewrite(v),
            ]),
          )
        : value;
  for (const [name, definition] of Object.entries(definitions ?? {})) into[name] = rewrite(definition) as JsonSchema;
  return rewrite(rest) as JsonSchema;
}

/**
 * The AsyncAPI 3.0 document of every topic, built from `@lib/events` (the
 * JSON Schemas generated from the event classes, the golden fixtures as
 * examples) and the publishers and subscriptions above. `npm run docs:asyncapi` writes it to
 * docs/asyncapi.yaml; a test fails when the committed file differs.
 */
export function buildAsyncApiDocument(): Record<string, unknown> {
  const schemas: Record<string, JsonSchema> = {};
  const messages: Record<string, unknown> = {};
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const eventSchemas = eventJsonSchemas();

  schemas.EventHeaders = {
    type: 'object',
    description: 'Repeat envelope fields so that tools can route without parsing the value. Optional: hand-typed messages have none.',
    properties: Object.fromEntries(Object.values(EventHeaders).map((h) => [h, { type: 'string' }])),
  };

  for (const { type, version } of registeredEvents()) {
    const key = `${type}.v${version}`;
    const messageId = `${camel(type)}V${version}`;
    schemas[key] = hoist(eventSchemas[key], schemas);
    messages[messageId] = {
      name: type,
      title: `${type} v${version}`,
      contentType: 'application/json',
      headers: { $ref: '#/components/schemas/EventHeaders' },
      payload: { $ref: `#/components/schemas/${key}` },
      bindings: { kafka: { key: { type: 'string', format: 'uuid', description: 'the order id' }, bindingVersion: '0.5.0' } },
      examples: [{ name: `${type} v${version}`, payload: fixture(type, version) }],
    };
  }

  for (const type of EVENT_TYPES) {
    const channelId = camel(type);
    const versions = registeredEvents().filter((e) => e.type === type);
    channels[channelId] = {
      address: type,
      description: `${type} events, keyed by order id (all events of one order on one partition).`,
      messages: Object.fromEntries(versions.map((e) => [`${camel(type)}V${e.version}`, { $ref: `#/components/messages/${camel(type)}V${e.version}` }])),
    };
    const channelRef = { $ref: `#/channels/${channelId}` };
    const messageRefs = versions.map((e) => ({ $ref: `#/channels/${channelId}/messages/${camel(type)}V${e.version}` }));
    const publisher = EVENT_PUBLISHERS[type];
    operations[`${publisher}Sends${channelId[0].toUpperCase()}${channelId.slice(1)}`] = {
      action: 'send',
      channel: channelRef,
      messages: messageRefs,
      summary: `${publisher} publishes ${type} through its transactional outbox.`,
    };
    for (const [app, topics] of Object.entries(EVENT_SUBSCRIPTIONS)) {
      if (!topics.includes(type)) continue;
      operations[`${app}Receives${channelId[0].toUpperCase()}${channelId.slice(1)}`] = {
        action: 'receive',
        channel: channelRef,
        messages: messageRefs,
        summary: `${app} consumes ${type} (consumer group "${app}", idempotent through its inbox).`,
        bindings: { kafka: { groupId: { type: 'string', enum: [app] }, bindingVersion: '0.5.0' } },
      };
    }
  }

  schemas.DeadLetterHeaders = {
    type: 'object',
    description: 'The original headers, plus why and where the message failed.',
    properties: Object.fromEntries(Object.values(DeadLetterHeaders).map((h) => [h, { type: 'string' }])),
  };
  messages.deadLetter = {
    name: 'dead letter',
    title: 'A message a consumer could not handle',
    summary: 'The original value byte for byte (it may not even be JSON) and key; `npm run dlq` lists and replays them.',
    contentType: 'application/octet-stream',
    headers: { $ref: '#/components/schemas/DeadLetterHeaders' },
    payload: { description: 'the original message value, unchanged' },
  };
  for (const topic of DEAD_LETTER_TOPICS) {
    const channelId = camel(topic);
    const app = topic.split('.')[0];
    channels[channelId] = {
      address: topic,
      description: `Dead letters of the ${app} app.`,
      messages: { deadLetter: { $ref: '#/components/messages/deadLetter' } },
    };
    operations[`${app}SendsDeadLetters`] = {
      action: 'send',
      channel: { $ref: `#/channels/${channelId}` },
      messages: [{ $ref: `#/channels/${channelId}/messages/deadLetter` }],
      summary: `${app} dead-letters what it cannot handle: invalid messages at once, handler errors after their retries.`,
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Order saga events',
      version: '1.0.0',
      description:
        "Every topic of the order, payment and notification apps. Generated from libs/events and the apps' @EventPattern handlers by `npm run docs:asyncapi`; do not edit by hand.",
    },
    defaultContentType: 'application/json',
    servers: { local: { host: 'localhost:9092', protocol: 'kafka', description: 'the broker `npm run infra:up` starts' } },
    channels,
    operations,
    components: { schemas, messages },
  };
}
