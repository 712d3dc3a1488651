import { ClientBase } from 'pg';

/** An outbox row the relay gave up on after OUTBOX_MAX_ATTEMPTS failed publishes. */
export interface ParkedRow {
  eventId: string;
  topic: string;
  key: string;
  attempts: number;
  lastError: string | null;
  parkedAt: Date;
  createdAt: Date;
}

/** The parked rows of an outbox, oldest first. */
export async function listParkedRows(client: ClientBase): Promise<ParkedRow[]> {
  const { rows } = await client.query<{
    event_id: string;
    topic: string;
    message_key: string;
    attempts: number;
    last_error: string | null;
    parked_at: Date;
    created_at: Date;
  }>(`SELECT event_id, topic, message_key, attempts, last_error, parked_at, created_at FROM outbox WHERE parked_at IS NOT NULL ORDER BY id`);
  return rows.map((r) => ({
    eventId: r.event_id,
    topic: r.topic,
    key: r.message_key,
    attempts: r.attempts,
    lastError: r.last_error,
    parkedAt: r.parked_at,
    createdAt: r.created_at,
  }));
}

/**
 * Puts parked rows back in line (all of them, or one event's): their attempts
 * start again from zero and the active relay publishes them in id order with
 * the rest. Returns the event ids released.
 */
export async function releaseParkedRows(client: ClientBase, selection: { all: true } | { eventId: string }): Promise<string[]> {
  const { rows } = await client.query<{ event_id: string }>(
    `UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL
      WHERE parked_at IS NOT NULL AND ($1::text IS NULL OR event_id::text = $1::text)
      RETURNING event_id`,
    ['eventId' in selection ? selection.eventId : null],
  );
  // Wake the active relay at once rather than at its next poll.
  if (rows.length > 0) await client.query(`NOTIFY outbox`);
  return rows.map((r) => r.event_id);
}
