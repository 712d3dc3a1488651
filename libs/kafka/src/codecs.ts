import { decompress as zstdDecompress } from 'fzstd';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';

/**
 * kafkajs decodes only gzip by itself. A record batch compressed with snappy,
 * lz4 or zstd — the default of many Java producers, and what a topic with
 * `compression.type` set stores — makes its fetch throw a non-retriable
 * error: the consumer crashes and every instance that takes the partition
 * over crashes the same way. Registered here, once, before any consumer or
 * producer exists; pure JavaScript, so nothing is built natively:
 * - snappy: `kafkajs-snappy` (the kafkajs project's codec over snappyjs,
 *   reads the xerial framing Java producers write);
 * - lz4: the LZ4 frame format (what Kafka's magic-v2 batches hold) with lz4js;
 * - zstd: decoding with fzstd. We never produce zstd (our producers send
 *   uncompressed or gzip), so compressing with it fails loudly instead of
 *   pretending.
 */
interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

// Neither package ships types; these are the parts used.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package ships no types
const SnappyCodec = require('kafkajs-snappy') as () => Codec;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package ships no types
const lz4 = require('lz4js') as { compress(src: Uint8Array): Uint8Array; decompress(src: Uint8Array): Uint8Array };

const lz4Codec = (): Codec => ({
  compress: (encoder) => Promise.resolve(Buffer.from(lz4.compress(encoder.buffer))),
  decompress: (buffer) => Promise.resolve(Buffer.from(lz4.decompress(buffer))),
});

const zstdCodec = (): Codec => ({
  compress: () => Promise.reject(new Error('zstd compression is not available: this client only decodes zstd (send uncompressed or gzip)')),
  decompress: (buffer) => {
    const out = zstdDecompress(buffer);
    return Promise.resolve(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  },
});

const codecs = CompressionCodecs as Record<number, () => Codec>;
codecs[CompressionTypes.Snappy] = SnappyCodec;
codecs[CompressionTypes.LZ4] = lz4Codec;
codecs[CompressionTypes.ZSTD] = zstdCodec;

/** The compression types consumers of this library can read. */
export const READABLE_COMPRESSION = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
