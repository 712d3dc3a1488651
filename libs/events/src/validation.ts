import { plainToInstance } from 'class-transformer';
import { ValidationError, ValidatorOptions, validateSync } from 'class-validator';
import { acceptorFor, isPlainObject } from './compiled-validation';
import { EventEnvelopeDto } from './envelope';
import type { EventParseErrorKind } from './errors';
import { dataClassFor, isKnownEventType, supportedVersions } from './registry';
import { EVENT_TYPES } from './event-types';

/*
 * Shared by parse (consume side) and validateEvent (publish side), so a
 * producer can never write an event that its consumers would dead-letter.
 */

// Unknown fields are errors, not silently dropped: a new field means a new version (ADR 0002).
const OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // One sentence per field: "must be an array" says it all; its size limits would only add noise.
  // Decorators apply bottom-up, so each class puts its type check closest to the property.
  stopAtFirstError: true,
  validationError: { target: false, value: true },
};

/** What is wrong with a candidate envelope, or `null` when it is a valid event. */
export interface ContractViolation {
  kind: Exclude<EventParseErrorKind, 'not_json'>;
  summary: string;
  violations: string[];
}

/** Checks a value that is already JSON-decoded against the whole contract. */
export function checkEvent(candidate: unknown): ContractViolation | null {
  return acceptedFast(candidate) ? null : findViolations(candidate);
}

/** {@link checkEvent} the slow way, naming every problem (class-transformer + validateSync); null when there is none. */
export function findViolations(candidate: unknown): ContractViolation | null {
  if (!isPlainObject(candidate)) {
    const violations = [`the value must be a JSON object, got ${describe(candidate)}`];
    return { kind: 'not_envelope', summary: 'not an event envelope', violations };
  }

  const envelope = assignOwn(new EventEnvelopeDto(), candidate);
  const envelopeViolations = unique([...findReservedKeys(candidate, '', false), ...toViolations(validateSync(envelope, OPTIONS), '')]);
  if (envelopeViolations.length > 0) {
    return { kind: 'not_envelope', summary: 'not an event envelope', violations: envelopeViolations };
  }

  const { type, version } = envelope;
  const dataClass = dataClassFor(type, version);
  if (!dataClass) {
    const violation = isKnownEventType(type)
      ? `${type} has no version ${version} (supported: ${supportedVersions(type).join(', ')})`
      : `type '${type}' is not a known event type (known: ${EVENT_TYPES.join(', ')})`;
    return { kind: 'unknown_type', summary: 'unknown event type or version', violations: [violation] };
  }

  const data = plainToInstance(dataClass, envelope.data);
  const dataViolations = unique([
    ...findReservedKeys(envelope.data, 'data', true),
    ...findArraysInArrays(envelope.data, 'data'),
    ...toViolations(validateSync(data as object, OPTIONS), 'data'),
  ]);
  if (dataViolations.length > 0) {
    return { kind: 'invalid_data', summary: `invalid data for ${type} v${version}`, violations: dataViolations };
  }
  return null;
}

/**
 * The common case, fast: a valid event is accepted by the validators compiled
 * from the same decorators (compiled-validation.ts), without class-transformer
 * or validateSync. Anything else goes the full way, which says why.
 */
export function acceptedFast(candidate: unknown): boolean {
  if (!isPlainObject(candidate) || hasReservedKey(candidate, false)) return false;
  if (!acceptorFor(EventEnvelopeDto)?.(candidate)) return false;
  const dataClass = dataClassFor(candidate.type as string, candidate.version as number);
  const data = candidate.data;
  if (!dataClass || !isPlainObject(data) || hasReservedKey(data, true)) return false;
  return acceptorFor(dataClass)?.(data) ?? false;
}

/** Whether {@link findReservedKeys} would find any, without naming them. */
function hasReservedKey(value: unknown, deep: boolean): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return deep && value.some((item) => hasReservedKey(item, deep));
  for (const key of Object.keys(value)) {
    if (Object.prototype.hasOwnProperty.call(Object.prototype, key)) return true;
    if (deep && hasReservedKey((value as Record<string, unknown>)[key], deep)) return true;
  }
  return false;
}

/*
 * JSON.parse turns a `"__proto__"` key into an own property; Object.assign
 * would re-point the prototype of our instance instead of it being reported.
 * Defining properties keeps it an ordinary (unknown, so rejected) field.
 */
function assignOwn<T extends object>(target: T, source: Record<string, unknown>): T {
  for (const key of Object.keys(source)) {
    Object.defineProperty(target, key, { value: source[key], enumerable: true, writable: true, configurable: true });
  }
  return target;
}

/*
 * class-validator's whitelist looks field names up in a plain object, so a
 * field named after an Object.prototype member (`constructor`,
 * `hasOwnProperty`, `__proto__`) slips through it, and class-transformer
 * drops `__proto__`/`constructor` without a word. No contract field has such
 * a name, so they are rejected here, at any depth when `deep`.
 */
function findReservedKeys(value: unknown, path: string, deep: boolean): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) {
    return deep ? value.flatMap((item, index) => findReservedKeys(item, `${path}[${index}]`, deep)) : [];
  }
  return Object.keys(value).flatMap((key) => {
    const keyPath = joinPath(path, key);
    if (Object.prototype.hasOwnProperty.call(Object.prototype, key)) return [`${keyPath} is not an allowed field`];
    return deep ? findReservedKeys((value as Record<string, unknown>)[key], keyPath, deep) : [];
  });
}

/*
 * class-validator validates an array inside an array of nested objects
 * element by element — an empty one has none — so `items: [[]]` would pass,
 * and a total of an order without lines with it. No contract field is an
 * array of arrays: any is rejected here, at any depth.
 */
function findArraysInArrays(value: unknown, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => (Array.isArray(item) ? [`${path}[${index}] must be an object`] : findArraysInArrays(item, `${path}[${index}]`)));
  }
  return Object.keys(value).flatMap((key) => findArraysInArrays((value as Record<string, unknown>)[key], joinPath(path, key)));
}

function unique(violations: string[]): string[] {
  return [...new Set(violations)];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function joinPath(parent: string, property: string): string {
  if (/^\d+$/.test(property) && parent) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

/** Flattens class-validator's tree into one sentence per problem, named by its full path. */
function toViolations(errors: ValidationError[], parent: string): string[] {
  const out: string[] = [];
  for (const error of errors) {
    const path = joinPath(parent, error.property);
    const constraints = error.constraints ?? {};
    if ('whitelistValidation' in constraints) {
      out.push(`${path} is not an allowed field`);
    } else if (error.value === undefined && Object.keys(constraints).length > 0) {
      // JSON has no undefined: the field is absent, and "must be a UUID" would hide that.
      out.push(`${path} is missing`);
    } else {
      for (const message of Object.values(constraints)) out.push(rephrase(message, error.property, path));
    }
    if (error.children?.length) out.push(...toViolations(error.children, path));
  }
  return out;
}

function rephrase(message: string, property: string, path: string): string {
  const prefixes: [string, string][] = [
    [`${property} `, `${path} `],
    [`each value in ${property} `, `each value in ${path} `],
  ];
  // class-validator names the array, not the element: "each value in nested property items must be ...".
  if (/^(each value in )?nested property \S+ must be either object or array$/.test(message)) {
    return `${path} must be an object`;
  }
  for (const [from, to] of prefixes) {
    if (message.startsWith(from)) return to + message.slice(from.length);
  }
  return `${path}: ${message}`;
}
