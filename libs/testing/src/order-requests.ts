import { randomUUID } from 'node:crypto';

/** One line of a `POST /orders` body. */
export interface OrderRequestLine {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/** A valid `POST /orders` body for a customer of its own: one line, 1 × `SKU-1` at 10.00 EUR unless `line` says otherwise. */
export function orderRequest(line: Partial<OrderRequestLine> = {}) {
  return { customerId: `c-${randomUUID()}`, currency: 'EUR', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1000, ...line }] };
}
