import 'reflect-metadata';
import { AppName, Apps, EVENT_SUBSCRIPTIONS } from '@lib/events';
import { PATTERN_METADATA } from '@nestjs/microservices/constants';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/** Every `*.consumer.ts` of the app, found on disk so that a new consumer class is seen without touching this test. */
function consumerFiles(app: AppName): string[] {
  const src = join(ROOT, 'apps', app, 'src');
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.consumer.ts'))
    .map((file) => join(src, file));
}

/** The topics the app's consumer classes subscribe to, from the metadata `@EventPattern` leaves on their methods. */
async function subscribedTopics(app: AppName): Promise<string[]> {
  const topics: string[] = [];
  for (const file of consumerFiles(app)) {
    const exported = Object.values((await import(file)) as Record<string, unknown>);
    for (const cls of exported.filter((value): value is { prototype: Record<string, unknown> } => typeof value === 'function')) {
      for (const name of Object.getOwnPropertyNames(cls.prototype)) {
        topics.push(...((Reflect.getMetadata(PATTERN_METADATA, cls.prototype[name] as object) as string[] | undefined) ?? []));
      }
    }
  }
  return [...new Set(topics)].sort();
}

/*
 * Neither scripts/ nor libs/ may import the apps (.dependency-cruiser.js), so
 * the contract declares who consumes what (libs/events' EVENT_SUBSCRIPTIONS,
 * from which docs/asyncapi.yaml and the secured broker's ACLs are derived);
 * this cross-app check keeps that declaration equal to what the apps really
 * subscribe to.
 */
describe('the consumers named by the contract (docs/asyncapi.yaml, the secured broker ACLs)', () => {
  it.each(Apps)("are exactly the topics the %s app's @EventPattern handlers subscribe to", async (app) => {
    const declared = [...EVENT_SUBSCRIPTIONS[app]].sort();
    expect(declared.length).toBeGreaterThan(0);
    expect(await subscribedTopics(app)).toEqual(declared);
  });
});
