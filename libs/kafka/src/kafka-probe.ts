import { Admin, Kafka } from 'kafkajs';
import { KafkaConnectionOptions, toKafkaJsConfig } from './kafka-config';

/** One partition of a consumer group's topic: committed offset (-1 when none), end offset and lag. */
export interface GroupPartitionOffset {
  topic: string;
  partition: number;
  committed: number;
  end: number;
  lag: number;
}

/**
 * Answers "can this process talk to the cluster right now?" for readiness
 * checks, with a deadline, on one long-lived admin connection.
 */
export class KafkaProbe {
  private readonly kafka: Kafka;
  private admin: Admin | null = null;

  constructor(options: KafkaConnectionOptions) {
    this.kafka = new Kafka({ ...toKafkaJsConfig(options), retry: { retries: 0 } });
  }

  /** Resolves with the number of brokers seen; rejects when the cluster does not answer within `timeoutMs`. */
  async check(timeoutMs: number): Promise<{ brokers: number }> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Kafka within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const cluster = await Promise.race([this.describe(), deadline]);
      return { brokers: cluster.brokers.length };
    } catch (error) {
      await this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Consumer lag per partition: the partition's end offset minus the group's
   * committed offset (a partition the group never committed counts from the
   * start of the log).
   */
  async lag(groupId: string, topics: readonly string[]): Promise<{ topic: string; partition: number; lag: number }[]> {
    const admin = await this.connectedAdmin();
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    const out: { topic: string; partition: number; lag: number }[] = [];
    for (const { topic, partitions } of committed) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const end of ends) {
        const offset = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        const from = offset >= 0 ? offset : Number(end.low);
        out.push({ topic, partition: end.partition, lag: Math.max(0, Number(end.high) - from) });
      }
    }
    return out;
  }

  /**
   * Where a consumer group stands on every topic it has committed offsets
   * on (or on `topics`), per partition: its committed offset (-1: none yet),
   * the partition's end, and the lag between them. Works whether or not the
   * group has members right now, so it shows a stopped app falling behind.
   */
  async groupOffsets(groupId: string, topics?: readonly string[]): Promise<GroupPartitionOffset[]> {
    const admin = await this.connectedAdmin();
    const committed = await admin.fetchOffsets(topics ? { groupId, topics: [...topics] } : { groupId });
    const out: GroupPartitionOffset[] = [];
    for (const { topic, partitions } of committed) {
      for (const end of await admin.fetchTopicOffsets(topic)) {
        const offset = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        const from = offset >= 0 ? offset : Number(end.low);
        out.push({ topic, partition: end.partition, committed: offset, end: Number(end.high), lag: Math.max(0, Number(end.high) - from) });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    if (admin) await admin.disconnect().catch(() => undefined);
  }

  private async describe() {
    return (await this.connectedAdmin()).describeCluster();
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }
}
