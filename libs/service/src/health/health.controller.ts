import { clientRefusedReason, KafkaProbe } from '@lib/kafka';
import { KafkaEventsTransport } from '@lib/messaging';
import { OutboxRelay } from '@lib/outbox';
import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { CommonEnv } from '../config/common-env';
import { SERVICE_DEFINITION, SERVICE_ENV, ServiceDefinition } from '../service-definition';
import { ShutdownState } from '../shutdown';

const CHECK_TIMEOUT_MS = 3000;

/**
 * Three probes, each gating one thing (docs/architecture.md, "Health"):
 *
 * - `/health/live` — liveness, for a supervisor that restarts the process:
 *   fails only when the process cannot recover by itself, i.e. its consumer
 *   runtime is dead (crashed more often than its restart policy allows). A blocked event loop does
 *   not answer at all, which a probe with a timeout also reads as failed.
 *   No dependency is checked: a database or broker outage never gets the
 *   process restarted.
 * - `/health/ready` — readiness, for a load balancer: what the HTTP API needs
 *   to serve, i.e. the app's database (and not shutting down). Kafka is not part of it: while the
 *   broker is away the order app keeps taking orders, which the outbox
 *   publishes once the broker is back.
 * - `/health` — everything, with the reason of each failure, for people,
 *   dashboards and alerts: database, Kafka, consumer (joined, not waiting for
 *   a dependency, no partition without progress for longer than
 *   CONSUMER_STUCK_PARTITION_SECONDS — named), outbox (oldest pending row within
 *   OUTBOX_MAX_PENDING_AGE_SECONDS, no parked rows). 503 when any is down.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly kafka: KafkaProbe,
    @Inject(SERVICE_ENV) private readonly env: CommonEnv,
    @Inject(SERVICE_DEFINITION) private readonly definition: ServiceDefinition,
    private readonly shutdown: ShutdownState,
    @Optional() private readonly transport?: KafkaEventsTransport,
    @Optional() private readonly relay?: OutboxRelay,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: down (503) only when the consumer crashed and could not be restarted' })
  @HealthCheck()
  live() {
    return this.health.check(this.consumes() ? [() => this.consumerAliveCheck()] : []);
  }

  /** Down only when the consumer crashed and its runner gave up restarting it: only a process restart helps. */
  private consumerAliveCheck() {
    const check = this.indicators.check('consumer');
    const { state, lastError, restarts } = this.transport!.stats();
    if (state === 'failed') return check.down({ state, restarts, message: `consumer crashed and could not be restarted: ${lastError}` });
    return check.up({ state, restarts });
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers and the app is not shutting down' })
  @HealthCheck()
  ready() {
    return this.health.check([() => this.databaseCheck(), () => this.acceptingCheck()]);
  }

  @Get()
  @ApiOperation({ summary: 'Everything, with the reason of each failure: database, Kafka, consumer, outbox' })
  @HealthCheck()
  details() {
    return this.health.check([
      () => this.databaseCheck(),
      () => this.kafkaCheck(),
      ...(this.consumes() ? [() => this.consumerCheck()] : []),
      ...(this.relay ? [() => this.outboxCheck()] : []),
    ]);
  }

  /** Down from the first step of a graceful stop on, so that a load balancer sends nothing new. */
  private acceptingCheck() {
    const check = this.indicators.check('shutdown');
    return this.shutdown.draining ? check.down({ message: 'shutting down: finishing the work in hand' }) : check.up();
  }

  private consumes(): boolean {
    return (this.transport?.topics().length ?? 0) > 0;
  }

  private databaseCheck() {
    return this.db.pingCheck('database', { timeout: CHECK_TIMEOUT_MS });
  }

  private async kafkaCheck() {
    const check = this.indicators.check('kafka');
    try {
      return check.up(await this.kafka.check(CHECK_TIMEOUT_MS));
    } catch (error) {
      // A wrong password or a missing ACL is named as such: an outage to fix in the settings, not a broker that is down.
      const refused = clientRefusedReason(error);
      return check.down({ message: refused ? `Kafka refuses this app: ${refused}` : (error as Error).message });
    }
  }

  private consumerCheck() {
    const check = this.indicators.check('consumer');
    const { state, lastError, waitingFor, stuckPartitions, restarts, assigned } = this.transport!.stats();
    if (state !== 'joined') return check.down({ state, restarts, message: lastError ?? `consumer is ${state}, not joined to its group` });
    if (waitingFor) return check.down({ state, restarts, message: `waiting for ${waitingFor}` });
    if (stuckPartitions.length > 0) {
      const stuck = stuckPartitions.map((p) => `${p.topic}[${p.partition}] at offset ${p.offset} for ${Math.round(p.forMs / 1000)} s`);
      return check.down({ state, restarts, stuckPartitions: stuck, message: `no progress on ${stuck.join(', ')}` });
    }
    return check.up({ state, restarts, assigned });
  }

  private async outboxCheck() {
    const check = this.indicators.check('outbox');
    try {
      const backlog = await this.relay!.backlog();
      const relay = this.relay!.stats();
      const problems: string[] = [];
      const max = this.env.OUTBOX_MAX_PENDING_AGE_SECONDS;
      if (backlog.oldestPendingAgeSeconds > max) {
        problems.push(
          `oldest pending event is ${Math.round(backlog.oldestPendingAgeSeconds)} s old (limit ${max} s)` +
            (relay.lastError ? `; relay's last error: ${relay.lastError}` : ''),
        );
      }
      if (backlog.parked > 0) {
        problems.push(`${backlog.parked} parked event(s) not published; release them with: npm run outbox -- release ${this.definition.app} --all`);
      }
      if (problems.length > 0) return check.down({ ...backlog, message: problems.join('; ') });
      return check.up({ ...backlog });
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}
