/** Order status: `PENDING` → `CONFIRMED` | `CANCELLED`, and never back. */
export const OrderStatus = { Pending: 'PENDING', Confirmed: 'CONFIRMED', Cancelled: 'CANCELLED' } as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/** Total in minor units; integers all the way, so no rounding. */
export function orderTotal(items: readonly OrderItem[]): number {
  return items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
}

/** Reason of an order cancelled because no payment outcome arrived before its deadline. */
export const PAYMENT_TIMEOUT = 'payment_timeout';

/** The one status a payment outcome may still settle an order from (the settling UPDATE's condition). */
export const SETTLES_FROM: OrderStatus = OrderStatus.Pending;

/** A payment event names an order this service does not have (yet): retried, then dead-lettered. */
export class OrderNotFoundError extends Error {
  readonly code = 'ORDER_NOT_FOUND';
  constructor(readonly orderId: string) {
    super(`order ${orderId} does not exist`);
  }
}

/** The same Idempotency-Key was used with a different request body. */
export class IdempotencyConflictError extends Error {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor(readonly key: string) {
    super(`Idempotency-Key "${key}" was already used with a different request body`);
  }
}
