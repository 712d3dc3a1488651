import { Admin, Kafka } from 'kafkajs';
import { KafkaConnectionOptions, toKafkaJsConfig } from './kafka-config';

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

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    if (admin) await admin.disconnect().catch(() => undefined);
  }

  private async describe() {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin.describeCluster();
  }
}
