import { createHash } from 'node:crypto';

/** UUID namespace of payment ids (a random v4, fixed forever). */
const PAYMENT_NAMESPACE = '6f1c3b9e-2d4a-4c8e-9b7f-0a5e3d2c1b4a';

/**
 * The payment id of an order: a name-based UUID (RFC 4122 version 5) of the
 * order id. The same order always gets the same payment id, so an
 * authorisation that is retried — or redelivered after a crash between the
 * gateway's answer and our commit — reaches the gateway with the same
 * idempotency key and cannot charge twice.
 */
export function paymentIdFor(orderId: string): string {
  const hash = createHash('sha1')
    .update(Buffer.from(PAYMENT_NAMESPACE.replace(/-/g, ''), 'hex'))
    .update(orderId)
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
