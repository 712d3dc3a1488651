import { KafkaEventsTransport } from '@lib/messaging';
import { OutboxRelay } from '@lib/outbox';
import { Controller, Get, HttpCode, Inject, NotFoundException, Optional, Param, ParseIntPipe, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../http/openapi';
import { ConsumerStatusResponse, OutboxStatusResponse, ParkedRowsResponse, ReleasedResponse } from './admin.responses';
import { DataSource } from 'typeorm';
import { SERVICE_DEFINITION, ServiceDefinition } from '../service-definition';
import { AdminTokenGuard } from './admin-token.guard';

interface ParkedRow {
  id: string;
  event_id: string;
  event_type: string;
  topic: string;
  message_key: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  parked_at: Date;
}

const MAX_PARKED = 200;

/**
 * What an operator (and the ops console) needs from an app besides health
 * and metrics: its outbox (backlog, oldest age, parked rows), releasing a
 * parked row, and its consumer. Guarded by `ADMIN_TOKEN` ({@link AdminTokenGuard}).
 * Reads only the app's own tables; the relay publishes a released row as any other.
 */
@ApiTags('admin')
@ApiBearerAuth()
@ApiErrors([401, 'ADMIN_TOKEN is set and the request does not carry it (or a change is asked with no ADMIN_TOKEN set)'])
@UseGuards(AdminTokenGuard)
@Controller('admin')
export class AdminController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_DEFINITION) private readonly definition: ServiceDefinition,
    @Optional() private readonly transport?: KafkaEventsTransport,
    @Optional() private readonly relay?: OutboxRelay,
  ) {}

  @Get('outbox')
  @ApiOperation({
    summary: "The outbox: events not yet published (pending), parked ones, the oldest pending one's age; `enabled: false` for an app without an outbox",
  })
  @ApiResponse({ status: 200, type: OutboxStatusResponse })
  async outbox() {
    if (!this.relay) return { app: this.definition.app, enabled: false, pending: 0, parked: 0, oldestPendingAgeSeconds: 0, relay: null };
    const backlog = await this.relay.backlog();
    return { app: this.definition.app, enabled: true, ...backlog, relay: this.relay.stats() };
  }

  @Get('outbox/parked')
  @ApiOperation({ summary: 'Parked outbox rows (publishing failed OUTBOX_MAX_ATTEMPTS times), oldest first' })
  @ApiQuery({
    name: 'limit',
    required: false,
    description: `at most this many rows (default 50, at most ${MAX_PARKED})`,
    schema: { type: 'integer', example: 50 },
  })
  @ApiResponse({ status: 200, type: ParkedRowsResponse })
  @ApiErrors([400, 'limit is not a whole number'])
  async parked(@Query('limit', new ParseIntPipe({ optional: true })) limit?: number) {
    if (!this.relay) return { items: [] };
    const n = Math.min(Math.max(limit ?? 50, 1), MAX_PARKED);
    const rows = await this.dataSource.query<ParkedRow[]>(
      `SELECT id, event_id, event_type, topic, message_key, attempts, last_error, created_at, parked_at
         FROM outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT $1`,
      [n],
    );
    return {
      items: rows.map((r) => ({
        id: String(r.id),
        eventId: r.event_id,
        eventType: r.event_type,
        topic: r.topic,
        key: r.message_key,
        attempts: r.attempts,
        lastError: r.last_error,
        createdAt: r.created_at,
        parkedAt: r.parked_at,
      })),
    };
  }

  @Post('outbox/parked/:id/release')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Releases a parked row: the relay publishes it again with fresh attempts. It goes out after events of the same key written since it was parked (an operator decision).',
  })
  @ApiResponse({ status: 200, type: ReleasedResponse })
  @ApiErrors([400, 'the id is not a whole number'], [404, 'no parked row with that id (or the app has no outbox)'])
  async release(@Param('id', ParseIntPipe) id: number) {
    if (!this.relay) throw new NotFoundException(`${this.definition.app} has no outbox`);
    const [rows] = await this.dataSource.query<[{ id: string }[], number]>(
      `UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL WHERE id = $1 AND parked_at IS NOT NULL RETURNING id`,
      [id],
    );
    if (rows.length === 0) throw new NotFoundException(`no parked outbox row ${id}`);
    await this.dataSource.query(`SELECT pg_notify('outbox', '')`); // wakes the relay
    return { released: String(id) };
  }

  @Get('consumer')
  @ApiOperation({ summary: "The app's consumer: its group, topics, state, what it waits for and its outcome counts since start" })
  @ApiResponse({ status: 200, type: ConsumerStatusResponse })
  consumer() {
    if (!this.transport) return { group: this.definition.app, topics: [], state: 'idle' };
    return { group: this.definition.app, topics: this.transport.topics(), ...this.transport.stats() };
  }
}
