/** `AUTHORIZED` | `DECLINED`; an authorised payment becomes `VOIDED` when its order was cancelled before it completed (saga compensation). */
export const PaymentStatus = { Authorized: 'AUTHORIZED', Declined: 'DECLINED', Voided: 'VOIDED' } as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/** What the gateway decided for one authorisation request. */
export type PaymentDecision = { approved: true } | { approved: false; reason: string };

export interface AuthorizationRequest {
  /** Stable per order (see paymentIdFor): the gateway's idempotency key. */
  paymentId: string;
  orderId: string;
  amount: number;
  currency: string;
}

/**
 * The gateway answered and refused the payment (a 4xx-like answer: card
 * declined, invalid account). Asking again gives the same answer: the
 * payment is declined with `reason`, the order cancelled.
 */
export class GatewayRejectedError extends Error {
  constructor(readonly reason: string) {
    super(`payment gateway rejected the payment: ${reason}`);
    this.name = 'GatewayRejectedError';
  }
}

/**
 * The gateway could not answer (a 5xx-like answer, no connection, a timeout):
 * nothing is wrong with the order; try again later, behind the breaker.
 * Any other error an adapter throws is of no known class: the consumer
 * retries it within its attempts and then dead-letters the order.
 */
export class GatewayUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayUnavailableError';
  }
}

/**
 * The port to a payment provider. An adapter answers a decision, or throws
 * {@link GatewayRejectedError} (refused), {@link GatewayUnavailableError}
 * (try later) or anything else (unknown). Adapters may be slow or fail; callers wrap
 * them with a timeout, retries and a circuit breaker (ResilientPaymentGateway).
 */
export interface PaymentGateway {
  authorize(request: AuthorizationRequest): Promise<PaymentDecision>;
  /** Voids (refunds) an authorised payment; idempotent on `paymentId`. Resolves once the provider confirmed it. (Optional for adapters that only authorise, e.g. test doubles.) */
  voidPayment?(request: AuthorizationRequest): Promise<void>;
}

export const PAYMENT_GATEWAY = Symbol('PAYMENT_GATEWAY');
