/**
 * The publishers of the local-burst benchmark, in a process of their own (as the
 * applications publishing to the engine are): forked by local-burst.ts with an IPC channel.
 *
 * argv[2] = JSON PublisherJob. Sends `{ type: "ready" }` once its client is built, waits for
 * `{ type: "go" }`, publishes every request from `publishers` concurrent loops in PutEvents
 * batches of 10, then sends `{ type: "done", failedEntries, cpuSeconds }` and exits.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface PublisherJob {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  eventBusName: string;
  templateName: string;
  runId: string;
  total: number;
  publishers: number;
  batch: number;
}

export type PublisherMessage = { type: 'ready' } | { type: 'done'; failedEntries: number; cpuSeconds: number };

function entry(job: PublisherJob, i: number): PutEventsRequestEntry {
  const to = i % 10 === 0 ? `success+${i}@simulator.amazonses.com` : `reader-${i}@example.com`;
  return {
    EventBusName: job.eventBusName,
    Source: 'bench.publisher',
    DetailType: 'Email Request',
    Detail: JSON.stringify({
      to,
      emailId: `bench-${job.runId}-${i}`,
      templateName: job.templateName,
      templateData: { userName: `Reader ${i}`, companyName: 'Acme', title: 'Hello', message: 'Bench message', name: 'Reader' },
    }),
  };
}

async function publish(job: PublisherJob, events: EventBridgeClient): Promise<number> {
  let next = 0;
  let failedEntries = 0;
  const publisher = async () => {
    for (;;) {
      const from = next;
      if (from >= job.total) return;
      next = Math.min(job.total, from + job.batch);
      const entries = [];
      for (let i = from; i < next; i += 1) entries.push(entry(job, i));
      const out = await events.send(new PutEventsCommand({ Entries: entries }));
      failedEntries += out.FailedEntryCount ?? 0;
    }
  };
  await Promise.all(Array.from({ length: job.publishers }, publisher));
  return failedEntries;
}

function reply(message: PublisherMessage): void {
  process.send?.(message);
}

const job = JSON.parse(process.argv[2] ?? '{}') as PublisherJob;
const events = new EventBridgeClient({ endpoint: job.endpoint, region: job.region, credentials: job.credentials, maxAttempts: 1 });
process.on('message', (message: { type?: string }) => {
  if (message.type !== 'go') return;
  const before = process.cpuUsage();
  publish(job, events)
    .then((failedEntries) => {
      const used = process.cpuUsage(before);
      reply({ type: 'done', failedEntries, cpuSeconds: (used.user + used.system) / 1e6 });
      events.destroy();
      process.disconnect();
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
});
reply({ type: 'ready' });
