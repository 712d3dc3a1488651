export const PaymentStatus = { Authorized: 'AUTHORIZED', Declined: 'DECLINED' } as const;
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
 * The port to a payment provider. Adapters may be slow or fail; callers wrap
 * them with a timeout, retries and a circuit breaker (ResilientPaymentGateway).
 */
export interface PaymentGateway {
  authorize(request: AuthorizationRequest): Promise<PaymentDecision>;
}

export const PAYMENT_GATEWAY = Symbol('PAYMENT_GATEWAY');
