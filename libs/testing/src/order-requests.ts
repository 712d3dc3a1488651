import { OrderItemV1 } from '@lib/events';
import { randomUUID } from 'node:crypto';

/** A valid `POST /orders` body for a customer of its own: one line, 1 × `SKU-1` at 10.00 EUR unless `line` says otherwise. */
export function orderRequest(line: Partial<OrderItemV1> = {}) {
  return { customerId: `c-${randomUUID()}`, currency: 'EUR', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1000, ...line }] };
}
