import { KafkaProbe } from '@lib/kafka';
import { KafkaEventsTransport } from '@lib/messaging';
import { OutboxRelay } from '@lib/outbox';
import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { CommonEnv } from '../config/common-env';
import { SERVICE_ENV } from '../service-definition';

const CHECK_TIMEOUT_MS = 3000;

/**
 * `/health/live`: the process answers and its consumer is not dead for good
 * (crashed more often than its restart policy allows); no dependency is
 * checked, so a database outage never gets the process restarted.
 * `/health/ready`: 503 naming the failed check unless the database answers,
 * the Kafka cluster answers, the consumer has joined its group (and is not
 * waiting for a dependency, and no partition of it has made no progress for
 * longer than CONSUMER_STUCK_PARTITION_SECONDS — those are named), and the outbox's oldest pending row is younger
 * than OUTBOX_MAX_PENDING_AGE_SECONDS.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly kafka: KafkaProbe,
    @Inject(SERVICE_ENV) private readonly env: CommonEnv,
    @Optional() private readonly transport?: KafkaEventsTransport,
    @Optional() private readonly relay?: OutboxRelay,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check(this.transport?.topics().length ? [() => this.consumerAliveCheck()] : []);
  }

  /** Down only when the consumer crashed and its runner gave up restarting it: only a process restart helps. */
  private consumerAliveCheck() {
    const check = this.indicators.check('consumer');
    const { state, lastError, restarts } = this.transport!.stats();
    if (state === 'failed') return check.down({ state, restarts, message: `consumer crashed and could not be restarted: ${lastError}` });
    return check.up({ state, restarts });
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: CHECK_TIMEOUT_MS }),
      () => this.kafkaCheck(),
      ...(this.transport?.topics().length ? [() => this.consumerCheck()] : []),
      ...(this.relay ? [() => this.outboxCheck()] : []),
    ]);
  }

  private async kafkaCheck() {
    const check = this.indicators.check('kafka');
    try {
      return check.up(await this.kafka.check(CHECK_TIMEOUT_MS));
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  private consumerCheck() {
    const check = this.indicators.check('consumer');
    const { state, lastError, waitingFor, stuckPartitions } = this.transport!.stats();
    if (state !== 'joined') return check.down({ state, message: lastError ?? `consumer is ${state}, not joined to its group` });
    if (waitingFor) return check.down({ state, message: `waiting for ${waitingFor}` });
    if (stuckPartitions.length > 0) {
      const stuck = stuckPartitions.map((p) => `${p.topic}[${p.partition}] at offset ${p.offset} for ${Math.round(p.forMs / 1000)} s`);
      return check.down({ state, stuckPartitions: stuck, message: `no progress on ${stuck.join(', ')}` });
    }
    return check.up({ state });
  }

  private async outboxCheck() {
    const check = this.indicators.check('outbox');
    try {
      const backlog = await this.relay!.backlog();
      const max = this.env.OUTBOX_MAX_PENDING_AGE_SECONDS;
      if (backlog.oldestPendingAgeSeconds > max) {
        return check.down({ ...backlog, message: `oldest pending event is ${Math.round(backlog.oldestPendingAgeSeconds)} s old (limit ${max} s)` });
      }
      return check.up({ ...backlog });
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}
