import type { MetadataStorage as TransformerMetadataStorage } from 'class-transformer/types/MetadataStorage';
import { ValidationTypes, getMetadataStorage } from 'class-validator';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import type { IOptions } from 'class-validator-jsonschema/build/options';
import { IS_CURRENCY_CODE } from './data/fields';
import { IS_SUM_OF_ITEMS } from './data/order-created.v1';
import { EventEnvelopeDto, IS_TIMESTAMP } from './envelope';
import { registeredEvents } from './registry';

/*
 * class-validator-jsonschema resolves the element class of `@Type(() => X)`
 * only through class-transformer's default metadata storage, which the
 * package does not export from its typed entry point.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a subpath without types, see above
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: TransformerMetadataStorage;
};

/** A JSON Schema (draft-07) document or fragment. */
export type JsonSchema = Record<string, unknown>;

const JSON_SCHEMA_DRAFT = 'http://json-schema.org/draft-07/schema#';

const OPTIONS: Partial<IOptions> = {
  classTransformerMetadataStorage: defaultMetadataStorage,
  refPointerPrefix: '#/definitions/',
  additionalConverters: {
    // The defaults give Min/Max `type: number`, which would overwrite IsInt's `integer` when merged.
    [ValidationTypes.CUSTOM_VALIDATION]: {},
    min: (meta) => ({ minimum: meta.constraints[0] as number }),
    max: (meta) => ({ maximum: meta.constraints[0] as number }),
    [IS_CURRENCY_CODE]: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code' },
    [IS_TIMESTAMP]: { type: 'string', format: 'date-time' },
    [IS_SUM_OF_ITEMS]: { description: 'sum of quantity * unitPrice over items' },
  },
};

/**
 * A schema for one class, closed to unknown fields (as validation is), with
 * every property required: none of our fields are optional.
 */
function classSchema(target: Function): JsonSchema {
  const schema = targetConstructorToSchema(target, OPTIONS) as JsonSchema;
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return { ...schema, required: Object.keys(properties), additionalProperties: false };
}

/** The class and every class nested in it through `@ValidateNested` + `@Type`, by class name. */
function definitionsFor(root: Function, into: Record<string, JsonSchema> = {}): Record<string, JsonSchema> {
  if (into[root.name]) return into;
  into[root.name] = classSchema(root);
  const nested = getMetadataStorage()
    .getTargetValidationMetadatas(root, '', true, false)
    .filter((meta) => meta.type === ValidationTypes.NESTED_VALIDATION);
  for (const meta of nested) {
    const typeMeta = defaultMetadataStorage.findTypeMetadata(root, meta.propertyName);
    // Without @Type the generator would emit a $ref to `Array`; fail here rather than ship that.
    if (!typeMeta) throw new Error(`${root.name}.${meta.propertyName} is nested but has no @Type()`);
    definitionsFor(typeMeta.typeFunction(), into);
  }
  return into;
}

/**
 * JSON Schemas (draft-07) of every registered event, keyed `<type>.v<version>`
 * (e.g. `order.created.v1`): the envelope with `type` and `version` fixed and
 * `data` pointing at the data class's definition. Generated from the same
 * decorators that validate, so documentation cannot drift from behaviour;
 * checks with no JSON Schema equivalent (the order total) appear as descriptions.
 */
export function eventJsonSchemas(): Record<string, JsonSchema> {
  const envelope = classSchema(EventEnvelopeDto);
  const envelopeProperties = envelope.properties as Record<string, JsonSchema>;
  const schemas: Record<string, JsonSchema> = {};
  for (const { type, version, dataClass } of registeredEvents()) {
    const key = `${type}.v${version}`;
    schemas[key] = {
      $schema: JSON_SCHEMA_DRAFT,
      $id: `${key}.json`,
      title: `${type} v${version}`,
      type: 'object',
      properties: {
        ...envelopeProperties,
        type: { type: 'string', const: type },
        version: { type: 'integer', const: version },
        causationId: { ...envelopeProperties.causationId, type: ['string', 'null'] },
        data: { $ref: `#/definitions/${dataClass.name}` },
      },
      required: envelope.required,
      additionalProperties: false,
      definitions: definitionsFor(dataClass),
    };
  }
  return schemas;
}

/**
 * The committed files under `libs/events/schemas/`: file name → exact content.
 * Shared by the generator script and the test that fails when they are stale.
 */
export function renderJsonSchemaFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(eventJsonSchemas()).map(([key, schema]) => [`${key}.json`, `${JSON.stringify(schema, null, 2)}\n`]));
}
