import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CLI, eventually, startLocalMode, type LocalInfo, type LocalMode } from '../support/local-mode.js';

/** Starting, stopping and restarting `sesmailengine local` as a user does. */

const running: LocalMode[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((l) => l.stop('SIGKILL')));
  await Promise.all(blockers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
}, 30_000);

function ports(info: LocalInfo): number[] {
  return [info.eventBridgeEndpoint, info.dynamoDbEndpoint, info.s3Endpoint, info.sesEndpoint].map((endpoint) => Number(new URL(endpoint).port));
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function occupy(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    blockers.push(server);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

describe('sesmailengine local lifecycle', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('stops on %s with exit code 0 and leaves no port listening', async (signal) => {
    const local = await startLocalMode();
    running.push(local);
    const used = ports(local.info);
    expect(await Promise.all(used.map(canListen))).toEqual([false, false, false, false]);
    await local.publish([local.request({ to: 'success@simulator.amazonses.com', templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' } })]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const code = await local.stop(signal);
    expect(code).toBe(0);
    // --json: exactly one line on stdout, even after mail went through the handlers.
    expect(local.stdoutLines()).toHaveLength(1);
    // The stand-ins run in child processes: all of them must be gone too.
    await eventually(async () => ((await Promise.all(used.map(canListen))).every(Boolean) ? true : undefined), 10_000, 'ports to be free');
  }, 90_000);

  it.each([
    ['--port', 'EventBridge'],
    ['--dynamodb-port', 'dynamodb'],
    ['--s3-port', 's3'],
    ['--ses-port', 'ses'],
  ])('refuses a taken %s with an error naming the port and the flag', async (flag) => {
    const port = await occupy();
    const args = [CLI, 'local', '--json', '--port', '0', '--dynamodb-port', '0', '--s3-port', '0', '--ses-port', '0'];
    args[args.indexOf(flag) + 1] = String(port);
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(1);
    // Under --json the error is one JSON object on stdout, nothing else.
    const error = JSON.parse(result.stdout) as { ok: boolean; code: string; message: string; fix: string };
    expect(error).toMatchObject({ ok: false, code: 'LOC001' });
    expect(error.message).toContain(`Port ${port}`);
    expect(error.fix).toContain(flag);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stdout + result.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);

  it('rejects an invalid option before starting anything', () => {
    const result = spawnSync(process.execPath, [CLI, 'local', '--retry-delay-seconds', '901'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Error LOC003');
  });

  it('refuses a --data-dir whose tables file is unreadable with LOC002, naming the file and the fix', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sesmailengine-e2e-broken-'));
    try {
      mkdirSync(join(dataDir, 'dynamodb'));
      writeFileSync(join(dataDir, 'dynamodb', 'tables.json'), '{"version": 1, "tables": [');
      const args = [CLI, 'local', '--data-dir', dataDir, '--port', '0', '--dynamodb-port', '0', '--s3-port', '0', '--ses-port', '0'];

      const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });

      expect(result.status).toBe(1);
      expect(result.stderr).toContain('Error LOC002');
      expect(result.stderr).toContain(join(dataDir, 'dynamodb', 'tables.json'));
      expect(result.stderr).toContain('move it away');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps tracking records across a restart with --data-dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sesmailengine-e2e-data-'));
    try {
      const first = await startLocalMode(['--data-dir', dataDir]);
      running.push(first);
      const emailId = `persist-${randomUUID()}`;
      await first.publish([first.request({ emailId, to: 'keep@example.com', templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' } })]);
      await eventually(async () => ((await first.record(emailId))?.status === 'sent' ? true : undefined));
      expect(await first.stop()).toBe(0);

      const second = await startLocalMode(['--data-dir', dataDir]);
      running.push(second);
      expect((await second.record(emailId))?.status).toBe('sent');
      expect(await second.stop()).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
