import { Apps, AppName } from '@lib/events';
import { DeadLetterStore, StoredDeadLetter } from '../dead-letters/dead-letter-store';
import { AppClient } from '../upstream/app-client';

/** One step of an order's journey. */
export interface JourneyStep {
  at: string;
  app: AppName;
  /** created | payment AUTHORIZED | settled CONFIRMED | notification … | dead letter … */
  what: string;
  detail: string;
  kind: 'step' | 'dead-letter';
  letterId?: string;
}

export interface Journey {
  query: string;
  orderId: string | null;
  status: string | null;
  steps: JourneyStep[];
  /** Apps that did not answer (their steps may be missing). */
  unreachable: string[];
}

interface OrderBody {
  id: string;
  status: string;
  reason?: string;
  totalAmount: number;
  currency: string;
  correlationId: string;
  createdAt: string;
  updatedAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An order's journey across the three apps, from their HTTP APIs (never
 * their databases): created (order), payment decided (payment), settled
 * (order), each notification recorded and delivered (notification), plus
 * the dead letters that mention the order, in time order. The query is an
 * order id, or a correlation id (the order app looks it up).
 */
export async function orderJourney(query: string, clients: Record<AppName, AppClient>, store: DeadLetterStore): Promise<Journey> {
  const q = query.trim();
  const unreachable: string[] = [];
  const steps: JourneyStep[] = [];
  let order: OrderBody | null = null;
  if (UUID.test(q)) {
    const found = await clients.order.get<OrderBody>(`/orders/${q}`);
    if (found.ok && found.status === 200) order = found.body;
    else if (!found.ok) unreachable.push(`order: ${found.error}`);
  }
  if (!order) {
    const found = await clients.order.get<{ items: OrderBody[] }>(`/orders?correlationId=${encodeURIComponent(q)}&limit=1`);
    if (found.ok && found.status === 200 && found.body.items?.length) order = found.body.items[0];
    else if (!found.ok && !unreachable.length) unreachable.push(`order: ${found.error}`);
  }
  const orderId = order?.id ?? (UUID.test(q) ? q : null);
  if (order) {
    steps.push({
      at: order.createdAt,
      app: 'order',
      what: 'order created',
      detail: `${order.totalAmount} ${order.currency} · correlation ${order.correlationId}`,
      kind: 'step',
    });
    if (order.status !== 'PENDING') {
      steps.push({ at: order.updatedAt, app: 'order', what: `order ${order.status}`, detail: order.reason ?? '', kind: 'step' });
    }
  }
  if (orderId) {
    const [payments, notifications] = await Promise.all([
      clients.payment.get<{ items: { id: string; status: string; reason: string | null; amount: number; currency: string; createdAt: string }[] }>(
        `/payments?orderId=${orderId}`,
      ),
      clients.notification.get<{ items: { eventType: string; channel: string; subject: string; createdAt: string; deliveredAt: string | null }[] }>(
        `/notifications?orderId=${orderId}`,
      ),
    ]);
    if (payments.ok && payments.status === 200) {
      for (const p of payments.body.items ?? []) {
        steps.push({
          at: p.createdAt,
          app: 'payment',
          what: `payment ${p.status}`,
          detail: `${p.amount} ${p.currency}${p.reason ? ` · ${p.reason}` : ''}`,
          kind: 'step',
        });
      }
    } else if (!payments.ok) unreachable.push(`payment: ${payments.error}`);
    if (notifications.ok && notifications.status === 200) {
      for (const n of notifications.body.items ?? []) {
        const delivered = n.deliveredAt ? ` · delivered ${n.deliveredAt}` : ' · not delivered yet';
        steps.push({
          at: n.createdAt,
          app: 'notification',
          what: `notification ${n.eventType}`,
          detail: `${n.channel}: ${n.subject}${delivered}`,
          kind: 'step',
        });
      }
    } else if (!notifications.ok) unreachable.push(`notification: ${notifications.error}`);
  }
  const letters = new Map<string, StoredDeadLetter>();
  for (const id of new Set([q, orderId, order?.correlationId].filter((x): x is string => !!x))) {
    for (const l of await store.mentioning(id)) letters.set(l.id, l);
  }
  for (const l of letters.values()) {
    steps.push({
      at: new Date(Number(l.record.timestamp)).toISOString(),
      app: l.app,
      what: `dead letter (${l.record.errorKind ?? '?'}) · ${l.state}`,
      detail: `${l.record.originalTopic ?? '?'}: ${l.record.errorMessage ?? ''}`,
      kind: 'dead-letter',
      letterId: l.id,
    });
  }
  steps.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || Apps.indexOf(a.app) - Apps.indexOf(b.app));
  return { query: q, orderId, status: order?.status ?? null, steps, unreachable };
}
