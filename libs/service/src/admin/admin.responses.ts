import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class RelayStatsResponse {
  @ApiProperty({ description: 'holds the relay lease (publishes); false while it stands by', example: true }) active: boolean;
  @ApiProperty({ example: 1204 }) publishedTotal: number;
  @ApiProperty({ example: 0 }) parkedTotal: number;
  @ApiProperty({ example: 0 }) failedPublishesTotal: number;
  @ApiProperty({ description: 'rows published after the lease was lost (published again by the new leader)', example: 0 }) deposedLeaderRowsTotal: number;
  @ApiProperty({ description: 'rows Kafka acknowledged that could not be marked published (database failure after the send; published again)', example: 0 })
  unmarkedRowsTotal: number;
  @ApiProperty({ type: String, nullable: true, description: 'fencing token of the current leadership; null while standing by', example: '3' }) leaseEpoch:
    string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastPublishAt: Date | null;
  @ApiProperty({ type: String, nullable: true, example: null }) lastError: string | null;
}

export class OutboxStatusResponse {
  @ApiProperty({ example: 'order' }) app: string;
  @ApiProperty({ description: 'false for an app without an outbox', example: true }) enabled: boolean;
  @ApiProperty({ description: 'events not yet published', example: 3 }) pending: number;
  @ApiProperty({ description: 'events parked after OUTBOX_MAX_ATTEMPTS failed publishes', example: 0 }) parked: number;
  @ApiProperty({ example: 0.4 }) oldestPendingAgeSeconds: number;
  @ApiProperty({ type: RelayStatsResponse, nullable: true }) relay: RelayStatsResponse | null;
}

export class ParkedRowResponse {
  @ApiProperty({ description: 'outbox row id (release it with POST /admin/outbox/parked/{id}/release)', example: '42' }) id: string;
  @ApiProperty({ format: 'uuid' }) eventId: string;
  @ApiProperty({ example: 'order.created' }) eventType: string;
  @ApiProperty({ example: 'order.created' }) topic: string;
  @ApiProperty({ description: 'the message key (the order id)', example: '0b6f7c1e-4a53-4d7e-9b0a-6f1d2c3e4f50' }) key: string;
  @ApiProperty({ example: 10 }) attempts: number;
  @ApiProperty({ type: String, nullable: true, example: 'The request included a message larger than the max message size the server will accept' }) lastError:
    string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) parkedAt: Date;
}

export class ParkedRowsResponse {
  @ApiProperty({ type: [ParkedRowResponse], description: 'oldest first' }) items: ParkedRowResponse[];
}

export class ReleasedResponse {
  @ApiProperty({ example: '42' }) released: string;
}

export class StuckPartitionResponse {
  @ApiProperty({ example: 'order.created' }) topic: string;
  @ApiProperty({ example: 0 }) partition: number;
  @ApiProperty({ example: '1187' }) offset: string;
  @ApiProperty({ description: 'epoch ms the consumer took the message' }) since: number;
  @ApiProperty({ description: 'ms without progress', example: 95_000 }) forMs: number;
}

export class ConsumerStatusResponse {
  @ApiProperty({ example: 'payment' }) group: string;
  @ApiProperty({ type: [String], example: ['order.created', 'payment.void-requested'] }) topics: string[];
  @ApiProperty({ enum: ['idle', 'joining', 'joined', 'restarting', 'failed', 'stopped'], example: 'joined' }) state: string;
  @ApiPropertyOptional({ type: String, nullable: true, example: null }) lastError?: string | null;
  @ApiPropertyOptional({ description: 'restarts by the runtime after crashes kafkajs does not recover from (what CONSUMER_RESTART_MAX counts)', example: 0 })
  restarts?: number;
  @ApiPropertyOptional({ description: 'crashes kafkajs restarted by itself (retriable causes) since the start', example: 0 })
  kafkajsRestarts?: number;
  @ApiPropertyOptional({
    type: [String],
    description: 'partitions this instance holds, as topic[partition] (empty while not joined)',
    example: ['payment.completed[0]', 'payment.failed[0]'],
  })
  assigned?: string[];
  @ApiPropertyOptional({ type: [StuckPartitionResponse], description: 'partitions without progress for longer than CONSUMER_STUCK_PARTITION_SECONDS' })
  stuckPartitions?: StuckPartitionResponse[];
  @ApiPropertyOptional({ type: String, nullable: true, description: 'the dependency the consumer waits for', example: null }) waitingFor?: string | null;
  @ApiPropertyOptional({
    type: 'object',
    description: 'outcome counts per topic since the start',
    additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } },
    example: { 'order.created': { handled: 120, duplicate: 1, retried: 0, dead_lettered: 0 } },
  })
  counts?: Record<string, Record<string, number>>;
}
