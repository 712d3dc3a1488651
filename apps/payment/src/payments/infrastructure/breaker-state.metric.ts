import { Gauge, Registry } from 'prom-client';
import { ResilientPaymentGateway } from './resilient-payment.gateway';

const STATE_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const;

/** `payment_gateway_breaker_state`: 0 closed, 1 half-open, 2 open — read at scrape time. */
export function registerBreakerStateMetric(registry: Registry, gateway: ResilientPaymentGateway): Gauge {
  return new Gauge({
    name: 'payment_gateway_breaker_state',
    help: 'Payment gateway circuit breaker: 0 closed, 1 half-open, 2 open (the consumer waits while open)',
    registers: [registry],
    collect() {
      this.set(STATE_VALUES[gateway.state()]);
    },
  });
}
