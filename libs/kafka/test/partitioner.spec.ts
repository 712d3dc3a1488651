import { randomBytes, randomUUID } from 'node:crypto';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { KeyHashPartitioner, murmur2 } from '../src/partitioner';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs's own murmur2 (64-bit Long arithmetic), the reference this one must agree with, is not exported
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string | Buffer) => number;

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0, offlineReplicas: [] }));

describe('murmur2 and the key-hash partitioner', () => {
  it("hashes like the Java client: Kafka's own test vectors", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ];
    for (const [key, expected] of cases) expect(murmur2(key)).toBe(expected);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(murmur2('abc'));
  });

  it('agrees with kafkajs on every key length, ASCII or not, strings and bytes', () => {
    const keys: (string | Buffer)[] = ['', 'a', 'ab', 'abc', 'ééé', 'ключ-42', '注文-7', '😀 order'];
    for (let i = 0; i < 300; i++) keys.push(randomUUID().slice(0, i % 37), `order-${i}`, randomBytes(i % 70));
    keys.push('x'.repeat(500));
    for (const key of keys) expect({ key, hash: murmur2(key) }).toEqual({ key, hash: kafkajsMurmur2(key) });
  });

  it("puts every keyed message on kafkajs's DefaultPartitioner's partition, and leaves unkeyed and pinned messages to it", () => {
    const ours = KeyHashPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 6, 7, 50]) {
      const partitionMetadata = metadata(partitions);
      for (let i = 0; i < 200; i++) {
        const message = { key: i % 2 ? randomUUID() : `k${i}é`, value: 'v' };
        expect(ours({ topic: 't', partitionMetadata, message })).toBe(theirs({ topic: 't', partitionMetadata, message }));
      }
      expect(ours({ topic: 't', partitionMetadata, message: { key: 'k', value: 'v', partition: partitions - 1 } })).toBe(partitions - 1);
      const unkeyed = ours({ topic: 't', partitionMetadata, message: { value: 'v' } });
      expect(unkeyed).toBeGreaterThanOrEqual(0);
      expect(unkeyed).toBeLessThan(partitions);
    }
  });
});
