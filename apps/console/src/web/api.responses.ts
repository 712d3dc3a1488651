import { Apps } from '@lib/events';
import { ParkedRowResponse } from '@lib/service';
import { ApiProperty } from '@nestjs/swagger';

class OutboxBacklogResponse {
  @ApiProperty({ example: 0 }) pending: number;
  @ApiProperty({ example: 0 }) parked: number;
  @ApiProperty({ example: 0 }) oldestPendingAgeSeconds: number;
}

export class AppSampleResponse {
  @ApiProperty({ enum: Apps, example: 'order' }) app: string;
  @ApiProperty({ example: 'http://localhost:3001' }) url: string;
  @ApiProperty({ description: "the app's /health answered 200", example: true }) ready: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'why it is not ready', example: null }) why: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: 'consumer lag per topic', example: { 'payment.completed': 0 } })
  lag: Record<string, number>;
  @ApiProperty({ example: 12.5 }) eventsPerSecond: number;
  @ApiProperty({ type: OutboxBacklogResponse, nullable: true, description: 'null for an app without an outbox, or one that does not answer' })
  outbox: OutboxBacklogResponse | null;
  @ApiProperty({ type: [ParkedRowResponse] }) parked: ParkedRowResponse[];
  @ApiProperty({ example: 0 }) deadLettersWaiting: number;
}

class HistoryPointResponse {
  @ApiProperty({ description: 'epoch ms', example: 1764450000000 }) at: number;
  @ApiProperty({ example: 30 }) eventsPerSecond: number;
  @ApiProperty({ example: 0 }) lag: number;
}

export class OverviewResponse {
  @ApiProperty({ description: 'epoch ms of the sample', example: 1764450000000 }) at: number;
  @ApiProperty({ type: [AppSampleResponse] }) apps: AppSampleResponse[];
  @ApiProperty({ type: String, nullable: true, description: 'Kafka could not be read (lag unknown)', example: null }) kafkaError: string | null;
  @ApiProperty({ type: [HistoryPointResponse], description: 'the chart: totals over the apps, last minutes' }) history: HistoryPointResponse[];
}

export class DeadLetterActionResponse {
  @ApiProperty({ example: 'order.dlq/0@12' }) letterId: string;
  @ApiProperty({ enum: ['replayed', 'discarded'], example: 'replayed' }) action: string;
  @ApiProperty({ example: 'alice' }) operator: string;
  @ApiProperty({ type: String, nullable: true, example: 'order restored' }) note: string | null;
  @ApiProperty({ format: 'date-time' }) at: string;
}

export class DeadLetterResponse {
  @ApiProperty({ description: '`<dlq topic>/<partition>@<offset>`', example: 'order.dlq/0@12' }) id: string;
  @ApiProperty({ enum: Apps, example: 'order' }) app: string;
  @ApiProperty({ example: 'order.dlq' }) topic: string;
  @ApiProperty({ example: 0 }) partition: number;
  @ApiProperty({ example: '12' }) offset: string;
  @ApiProperty({ description: 'epoch ms, as a string', example: '1764450000000' }) timestamp: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'the original headers plus the dlq-* ones',
    example: { 'dlq-error-kind': 'handler_error' },
  })
  headers: Record<string, string>;
  @ApiProperty({ type: String, nullable: true, example: 'payment.completed' }) originalTopic: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 0 }) originalPartition: number | null;
  @ApiProperty({ type: String, nullable: true, example: '41' }) originalOffset: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'order' }) consumerGroup: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'handler_error' }) errorKind: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'order 0b6f7c1e… not found' }) errorMessage: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) failedAt: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 3 }) attempts: number | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) eventId: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'set when this dead letter is a replayed message that failed again', example: null }) replayedFrom:
    string | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) orderId: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the original message key', example: '0b6f7c1e-4a53-4d7e-9b0a-6f1d2c3e4f50' }) key: string | null;
  @ApiProperty({ description: 'the original value as text (JSON pretty-printed; empty for no value)', example: '{"id":"…","type":"payment.completed"}' })
  value: string;
  @ApiProperty({ enum: ['waiting', 'replayed', 'discarded'], example: 'waiting' }) state: string;
  @ApiProperty({ type: DeadLetterActionResponse, nullable: true }) action: DeadLetterActionResponse | null;
}

export class DeadLetterPageResponse {
  @ApiProperty({ type: [DeadLetterResponse], description: 'newest first, 25 per page' }) items: DeadLetterResponse[];
  @ApiProperty({ example: 1 }) total: number;
  @ApiProperty({ example: 1 }) page: number;
}

export class DeadLetterActionsResponse {
  @ApiProperty({ type: [DeadLetterActionResponse] }) items: DeadLetterActionResponse[];
}

class SkippedReplayResponse {
  @ApiProperty({ example: 'order.dlq/0@3' }) id: string;
  @ApiProperty({ example: 'no event id' }) why: string;
}

export class ReplayOutcomeResponse {
  @ApiProperty({ type: [String], example: ['order.dlq/0@12'] }) replayed: string[];
  @ApiProperty({ type: [SkippedReplayResponse], description: 'waiting letters that cannot be replayed (no event id or original topic)' })
  skipped: SkippedReplayResponse[];
}

export class DiscardedResponse {
  @ApiProperty({ example: 'order.dlq/0@12' }) discarded: string;
}

export class ConsoleHealthResponse {
  @ApiProperty({ enum: ['ok'], example: 'ok' }) status: string;
}

export class ConsoleHealthDownResponse {
  @ApiProperty({ enum: ['error'], example: 'error' }) status: string;
  @ApiProperty({
    type: 'object',
    description: 'the failed check: database or consumer',
    additionalProperties: { type: 'object', properties: { status: { type: 'string' }, message: { type: 'string' } } },
    example: { database: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:5432' } },
  })
  error: Record<string, { status: string; message: string }>;
}
