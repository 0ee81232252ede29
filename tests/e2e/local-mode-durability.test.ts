import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CLI, eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/** `--data-dir` under a kill -9: what a caller saw written is there after a restart; one process per directory. */

const running: LocalMode[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((l) => l.stop('SIGKILL')));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 30_000);

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sesmailengine-e2e-durable-'));
  dirs.push(dir);
  return dir;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

async function killNine(local: LocalMode): Promise<void> {
  // The node process itself (spawned directly, not through npm): no handler runs, nothing is saved on the way out.
  const exited = new Promise((resolve) => local.child.once('exit', resolve));
  local.child.kill('SIGKILL');
  await exited;
}

const welcome = { userName: 'Ada', companyName: 'Acme' };

describe('sesmailengine local --data-dir', () => {
  it('keeps every record and suppression it showed when killed with SIGKILL, and leaves no temporary file', async () => {
    const dir = dataDir();
    const first = await startLocalMode(['--data-dir', dir]);
    running.push(first);
    const emailIds = Array.from({ length: 200 }, () => `durable-${randomUUID()}`);
    const bounceId = `durable-bounce-${randomUUID()}`;
    const batches: string[][] = [];
    for (let i = 0; i < emailIds.length; i += 10) batches.push(emailIds.slice(i, i + 10));
    await Promise.all(
      batches.map((ids, b) =>
        first.publish(ids.map((emailId, i) => first.request({ emailId, to: `reader${b * 10 + i}@example.com`, templateName: 'welcome', templateData: welcome }))),
      ),
    );
    await first.publish([first.request({ emailId: bounceId, to: 'bounce@simulator.amazonses.com', templateName: 'welcome', templateData: welcome })]);

    // Visible through the DynamoDB endpoint: every record sent, the bounce suppressed.
    await eventually(
      async () => ((await first.records(emailIds)).filter((r) => r.status === 'sent').length === emailIds.length ? true : undefined),
      60_000,
      'all 200 records to be sent',
    );
    await eventually(() => first.suppression('bounce@simulator.amazonses.com'), 30_000, 'the suppression');
    const bounced = await eventually(async () => ((await first.record(bounceId))?.status === 'bounced' ? true : undefined), 30_000, 'the bounce record');
    expect(bounced).toBe(true);
    await killNine(first);
    // The killed process's lock is still there: the next start must take it over.
    expect(existsSync(join(dir, 'lock'))).toBe(true);

    const second = await startLocalMode(['--data-dir', dir]);
    running.push(second);
    const records = await second.records(emailIds);
    expect(records.map((r) => r.emailId as string).sort()).toEqual([...emailIds].sort());
    expect(records.every((r) => r.status === 'sent')).toBe(true);
    expect((await second.record(bounceId))?.status).toBe('bounced');
    expect(await second.suppression('bounce@simulator.amazonses.com')).toMatchObject({ email: 'bounce@simulator.amazonses.com' });
    expect(filesUnder(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(await second.stop()).toBe(0);
    // A clean stop folds the journal into the snapshot and releases the lock.
    expect(filesUnder(join(dir, 'dynamodb'))).toEqual(['tables.json']);
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  }, 240_000);

  it('refuses a second process on the same --data-dir with LOC006, naming the process that holds it', async () => {
    const dir = dataDir();
    const first = await startLocalMode(['--data-dir', dir]);
    running.push(first);
    const args = [CLI, 'local', '--json', '--data-dir', dir, '--port', '0', '--dynamodb-port', '0', '--s3-port', '0', '--ses-port', '0'];
    const second = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    expect(second.status).toBe(1);
    // Under --json the error is one JSON object on stdout.
    const error = JSON.parse(second.stdout) as { ok: boolean; code: string; message: string; fix: string };
    expect(error).toMatchObject({ ok: false, code: 'LOC006' });
    expect(error.message).toContain(`process ${first.child.pid}`);
    expect(error.message).toContain(dir);
    expect(error.fix).toContain('--data-dir');
    // The refused process touched nothing: the first one still answers.
    expect(await first.suppression('nobody@example.com')).toBeUndefined();
  }, 120_000);
});
