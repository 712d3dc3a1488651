/**
 * Run as its own process by otlp-export.spec.ts: switches tracing on with the
 * OTLP endpoint given as argument, makes one consumer span, flushes and exits.
 * (The OTLP exporter loads `http` with a dynamic `import()`, which jest's
 * module sandbox does not run; a plain Node process does, as the apps do.)
 */
import { flushTracing, initTracing, withConsumerSpan } from '../../src';

async function main(): Promise<void> {
  if (!initTracing({ serviceName: 'payment', otlpEndpoint: process.argv[2] })) throw new Error('tracing did not switch on');
  await withConsumerSpan({ app: 'payment', topic: 'order.created', headers: {} }, async () => undefined);
  await flushTracing();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
