import { IsInt, IsNotEmpty, IsString, IsUUID, Max, MaxLength, Min, ValidateBy, ValidationOptions, buildMessage, isISO4217CurrencyCode } from 'class-validator';

/*
 * Field rules shared by the event classes. They are exported so that the HTTP
 * DTO that produces an order can apply the very same rules: if the API
 * accepted a value the event contract rejects, the outbox writer would refuse
 * the event and the request would fail with a 500 instead of a 400.
 */

/** Longest free-text reason (`limit_exceeded`, a gateway message) an event carries. */
export const MAX_REASON_LENGTH = 200;

function compose(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, propertyKey) => decorators.forEach((decorate) => decorate(target, propertyKey));
}

/** Constraint name of {@link IsCurrencyCode}, also the key of its JSON Schema converter. */
export const IS_CURRENCY_CODE = 'isCurrencyCode';

/**
 * An ISO 4217 currency code written in upper case (`EUR`). Upper case only,
 * because consumers compare currencies as strings; the ISO list check stops
 * typos like `EUO` from reaching the payment gateway.
 */
export function IsCurrencyCode(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_CURRENCY_CODE,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && /^[A-Z]{3}$/.test(value) && isISO4217CurrencyCode(value),
        defaultMessage: buildMessage((each) => `${each}$property must be an ISO 4217 currency code in upper case, e.g. EUR`, options),
      },
    },
    options,
  );
}

/**
 * An amount of money in integer minor units (cents). Capped at
 * `Number.MAX_SAFE_INTEGER` because every consumer is JavaScript and a larger
 * number would silently lose precision in `JSON.parse`.
 */
export function IsMinorUnits(): PropertyDecorator {
  return compose(IsInt(), Min(0), Max(Number.MAX_SAFE_INTEGER));
}

/** The id of an aggregate (order, payment): a UUID of any version, so ids from other generators stay valid. */
export function IsEntityId(): PropertyDecorator {
  return IsUUID();
}

/** A short machine-readable reason such as `limit_exceeded`: non-empty, at most {@link MAX_REASON_LENGTH} characters. */
export function IsReason(): PropertyDecorator {
  return compose(IsString(), IsNotEmpty(), MaxLength(MAX_REASON_LENGTH));
}

/** A non-empty string of at most `max` characters (customer ids, SKUs). */
export function IsBoundedString(max: number): PropertyDecorator {
  return compose(IsString(), IsNotEmpty(), MaxLength(max));
}
