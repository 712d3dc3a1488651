import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventJsonSchemas, renderJsonSchemaFiles, registeredEvents } from '@lib/events';
import { goldenFixtures } from './fixtures';

type Schema = Record<string, any>;
const SCHEMAS_DIR = join(__dirname, '..', 'schemas');

/*
 * A deliberately small checker (no validator package): required fields,
 * closed objects, JSON types, const/enum, and arrays, following $ref.
 * Enough to prove the schemas describe the same shape the classes accept.
 */
function check(value: unknown, schema: Schema, root: Schema, path: string): string[] {
  if (schema.$ref) return check(value, root.definitions[schema.$ref.replace('#/definitions/', '')], root, path);
  const problems: string[] = [];
  const types: string[] | undefined = schema.type === undefined ? undefined : [].concat(schema.type);
  if (types && !types.some((t) => matchesType(value, t))) return [`${path} is not ${types.join('|')}`];
  if ('const' in schema && value !== schema.const) problems.push(`${path} is not ${schema.const}`);
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path} is not one of ${schema.enum}`);
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${path} does not match`);
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => problems.push(...check(item, schema.items, root, `${path}[${i}]`)));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${path}.${key} is required`);
    for (const [key, child] of Object.entries(record)) {
      if (schema.properties?.[key]) problems.push(...check(child, schema.properties[key], root, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${key} is not allowed`);
    }
  }
  return problems;
}

function matchesType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'null') return value === null;
  if (type === 'array') return Array.isArray(value);
  if (type === 'object') return value !== null && typeof value === 'object' && !Array.isArray(value);
  return typeof value === type;
}

function refs(schema: unknown): string[] {
  if (!schema || typeof schema !== 'object') return [];
  return Object.entries(schema).flatMap(([key, child]) => (key === '$ref' ? [child as string] : refs(child)));
}

describe('JSON Schemas', () => {
  const schemas = eventJsonSchemas();

  it('has one schema per registered type and version, keyed <type>.v<version>', () => {
    expect(Object.keys(schemas)).toEqual(registeredEvents().map((e) => `${e.type}.v${e.version}`));
  });

  it('matches the committed files in libs/events/schemas (run scripts/generate-schemas.ts if this fails)', () => {
    const committed = Object.fromEntries(
      readdirSync(SCHEMAS_DIR)
        .filter((name) => name.endsWith('.json'))
        .map((name) => [name, readFileSync(join(SCHEMAS_DIR, name), 'utf8')]),
    );
    expect(committed).toEqual(renderJsonSchemaFiles());
  });

  it('resolves every $ref to a definition in the same schema', () => {
    for (const schema of Object.values(schemas)) {
      const definitions = (schema as Schema).definitions;
      for (const ref of refs(schema)) expect(definitions).toHaveProperty([ref.replace('#/definitions/', '')]);
    }
  });

  it('describes the order lines of order.created, not just "an array"', () => {
    const schema = schemas['order.created.v1'] as Schema;
    expect(schema.definitions.OrderCreatedV1.properties.items).toEqual({
      type: 'array',
      items: { $ref: '#/definitions/OrderItemV1' },
      minItems: 1,
      maxItems: 100,
    });
    expect(schema.definitions.OrderItemV1).toEqual({
      type: 'object',
      properties: {
        sku: { type: 'string', minLength: 1, maxLength: 64 },
        quantity: { type: 'integer', minimum: 1, maximum: 1000 },
        unitPrice: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      },
      required: ['sku', 'quantity', 'unitPrice'],
      additionalProperties: false,
    });
  });

  it('closes every object to unknown fields, as validation does', () => {
    for (const schema of Object.values(schemas) as Schema[]) {
      expect(schema.additionalProperties).toBe(false);
      for (const definition of Object.values(schema.definitions) as Schema[]) expect(definition.additionalProperties).toBe(false);
    }
  });

  it.each(goldenFixtures().map((f) => [f.name, f.text]))('is satisfied by the golden fixture %s', (name, text) => {
    const schema = schemas[name.replace(/\.json$/, '')] as Schema;
    expect(check(JSON.parse(text), schema, schema, '$')).toEqual([]);
  });

  it('is not satisfied when a required data field is missing or an unknown one is added', () => {
    const schema = schemas['order.created.v1'] as Schema;
    const event = JSON.parse(goldenFixtures().find((f) => f.name === 'order.created.v1.json')!.text);
    delete event.data.customerId;
    event.data.items[0].color = 'black';
    expect(check(event, schema, schema, '$')).toEqual(['$.data.customerId is required', '$.data.items[0].color is not allowed']);
  });
});
