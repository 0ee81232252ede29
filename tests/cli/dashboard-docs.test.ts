import { describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../support/local-mode.js';

/**
 * docs/DASHBOARD.md against the built CLI: what `sesmailengine dashboard` prints when it
 * starts is the text the guide shows, and its --help names what the page shows.
 * Runs after `npm run build`.
 */

const GUIDE = readFileSync(join(process.cwd(), 'docs', 'DASHBOARD.md'), 'utf8');
const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
// A local mode's JSON line; nothing is read from it until a panel asks, so none needs to run.
const LOCAL = JSON.stringify({
  eventBridgeEndpoint: 'http://127.0.0.1:4010',
  eventBusName: 'sesmailengine-EmailBus',
  dynamoDbEndpoint: 'http://127.0.0.1:4011',
  trackingTable: 'sesmailengine-EmailTracking',
  suppressionTable: 'sesmailengine-Suppression',
  countersTable: 'sesmailengine-Counters',
  s3Endpoint: 'http://127.0.0.1:4012',
  templateBucket: 'sesmailengine-templates',
  region: 'us-east-1',
});

/** The text block after "It prints its URL", with the URL's port and token made generic. */
function guideStartText(): string {
  const match = /It prints its URL[\s\S]*?```text\n([\s\S]*?)```/.exec(GUIDE);
  if (!match) throw new Error('DASHBOARD.md has no printed text after "It prints its URL"');
  return match[1]!.replace(/127\.0\.0\.1:\d+\/\?token=\S+/, '127.0.0.1:<port>/?token=<token>');
}

describe('dashboard as DASHBOARD.md shows it', () => {
  it('prints what the guide says it prints when it starts', async () => {
    const child = spawn(process.execPath, [CLI, 'dashboard', '--local', LOCAL, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: ENV });
    let out = '';
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start text in time: ${out}`)), 20_000);
      const read = (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('Ctrl-C stops it.\n')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
    });
    try {
      await done;
    } finally {
      child.kill('SIGTERM');
    }

    const printed = out.replace(/127\.0\.0\.1:\d+\/\?token=\S+/, '127.0.0.1:<port>/?token=<token>');
    expect(printed).toBe(guideStartText());
  }, 30_000);

  it('names every part of the page in its --help, deliverability and the SES quota included', () => {
    const help = spawnSync(process.execPath, [CLI, 'dashboard', '--help'], { encoding: 'utf8', env: ENV }).stdout.replace(/\s+/g, ' ');

    for (const part of ['sending per day', 'rates', 'recent emails', 'diagnosis', 'suppressions', 'DLQs', 'deliverability', 'alarms', 'SES quota']) {
      expect(help).toContain(part);
    }
  });
});
