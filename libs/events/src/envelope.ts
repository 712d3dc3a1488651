import { IsIn, IsInt, IsObject, IsUUID, Min, ValidateBy, ValidateIf, ValidationOptions, buildMessage, isISO8601 } from 'class-validator';
import { IsBoundedString } from './data/fields';
import type { EventType } from './event-types';
import type { EventDataMap } from './registry';
import { AppName, Apps } from './topics';

/** Longest accepted correlation or causation id; users may send their own correlation id. */
export const MAX_CORRELATION_ID_LENGTH = 128;

/** Constraint name of {@link IsTimestamp}, also the key of its JSON Schema converter. */
export const IS_TIMESTAMP = 'isTimestamp';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A full ISO-8601 date-time with an explicit offset. A bare date or a
 * local time would be read differently by consumers in different zones.
 */
function IsTimestamp(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_TIMESTAMP,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && TIMESTAMP.test(value) && isISO8601(value, { strict: true }),
        defaultMessage: buildMessage((each) => `${each}$property must be an ISO-8601 date-time with a time zone, e.g. 2026-11-22T10:00:00.000Z`, options),
      },
    },
    options,
  );
}

/**
 * The envelope as class-validator sees it. `data` is only checked to be an
 * object here; its shape depends on (`type`, `version`) and is checked
 * against the registered data class afterwards.
 */
export class EventEnvelopeDto {
  /** Unique per event; what consumers deduplicate on. */
  @IsUUID()
  id: string;

  /** The event type; whether it is a known one is decided by the registry, not here. */
  @IsBoundedString(100)
  type: string;

  /** Version of `data`'s schema for this type, an integer from 1. */
  @Min(1)
  @IsInt()
  version: number;

  /** When the fact happened (not when it was published). */
  @IsTimestamp()
  occurredAt: string;

  /** The app that published the event. */
  @IsIn(Apps)
  source: AppName;

  /** Ties every event of one order (and its HTTP request) together. */
  @IsBoundedString(MAX_CORRELATION_ID_LENGTH)
  correlationId: string;

  /** The id of the event that caused this one; `null` when an HTTP request caused it. */
  @ValidateIf((envelope: EventEnvelopeDto) => envelope.causationId !== null)
  @IsBoundedString(MAX_CORRELATION_ID_LENGTH)
  causationId: string | null;

  /** The payload. */
  @IsObject()
  data: Record<string, unknown>;
}

/** Envelope fields every event has, whatever its type. */
export interface EventEnvelopeMeta {
  /** Unique per event (UUID); what consumers deduplicate on. */
  readonly id: string;
  /** Version of the `data` schema, from 1. */
  readonly version: number;
  /** ISO-8601 date-time with a time zone. */
  readonly occurredAt: string;
  /** The publishing app. */
  readonly source: AppName;
  /** Shared by every event of one order. */
  readonly correlationId: string;
  /** Id of the causing event, or `null`. */
  readonly causationId: string | null;
}

/**
 * A valid event as a plain object. Without a type argument it is a union
 * discriminated on `type`, so `if (event.type === 'order.created')` narrows
 * `event.data`.
 */
export type EventEnvelope<TType extends EventType = EventType> = {
  [K in TType]: EventEnvelopeMeta & { readonly type: K; readonly data: EventDataMap[K] };
}[TType];
