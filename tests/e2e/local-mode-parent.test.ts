import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, eventually } from '../support/local-mode.js';
import { readProcStat } from '../../src/local/parent-watch.js';

/**
 * Local mode started as through npx (a parent → sh → node chain) stops when the parent is
 * killed with SIGKILL, which forwards nothing: the harness that started it is gone.
 */

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0)) step();
});

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function killQuietly(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The child processes of `pid` (Linux). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const linuxOnly = process.platform === 'linux' ? describe : describe.skip;

/** The four ports, from the JSON line or from the banner. */
function portsFrom(output: string): number[] | undefined {
  const json = output.split('\n').find((line) => line.startsWith('{'));
  if (json) {
    const info = JSON.parse(json) as Record<string, string>;
    return ['eventBridgeEndpoint', 'dynamoDbEndpoint', 's3Endpoint', 'sesEndpoint'].map((key) => Number(new URL(info[key]!).port));
  }
  if (!output.includes('Simulator addresses')) return undefined;
  return ['EventBridge endpoint', 'DynamoDB', 'S3', 'SES'].map((name) => Number(new RegExp(`${name}\\s+http://127\\.0\\.0\\.1:(\\d+)`).exec(output)![1]));
}

// inherit: local mode writes to the test's own pipes, which outlive the parent.
// pipes: its stdout and stderr are pipes to the parent, so they break with it ("Stopping…" then meets EPIPE).
const CASES = [
  ['its output goes to the test', 'inherit', ['--json', '--quiet']],
  ['its output pipes break with the parent', 'pipes', []],
] as const;

linuxOnly('sesmailengine local started through a chain of processes', () => {
  it.each(CASES)('stops cleanly (exit code 0, no port listening) within seconds after its parent is killed: %s', async (_name, stdio, flags) => {
    const dir = mkdtempSync(join(tmpdir(), 'sesmailengine-parent-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const codeFile = join(dir, 'exit-code');
    const args = ['local', ...flags, '--port', '0', '--dynamodb-port', '0', '--s3-port', '0', '--ses-port', '0'];
    // As npx runs a bin: a shell between the parent and node; the command after it keeps sh from exec'ing node.
    const command = `"${process.execPath}" "${CLI}" ${args.join(' ')}; echo $? > "${codeFile}"`;
    const parentScript = `
      const { spawn } = require('node:child_process');
      const piped = process.argv[2] === 'pipes';
      const sh = spawn('sh', ['-c', process.argv[1]], { stdio: ['ignore', piped ? 'pipe' : 'inherit', piped ? 'pipe' : 'inherit'] });
      process.stdout.write('sh ' + sh.pid + '\\n');
      if (piped) sh.stdout.pipe(process.stdout);
      setInterval(() => {}, 1000);`;
    const parent: ChildProcess = spawn(process.execPath, ['-e', parentScript, command, stdio], { stdio: ['ignore', 'pipe', 'pipe'] });
    let shPid: number | undefined;
    cleanup.push(() => {
      killQuietly(parent.pid);
      if (shPid !== undefined) for (const pid of childrenOf(shPid)) killQuietly(pid);
      killQuietly(shPid);
    });
    let stderr = '';
    parent.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let output = '';
    const ports = await new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`local mode did not start in time: ${stderr}`)), 60_000);
      createInterface({ input: parent.stdout! }).on('line', (line) => {
        if (line.startsWith('sh ')) shPid = Number(line.slice(3));
        else output += `${line}\n`;
        const found = portsFrom(output);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      });
    });
    expect(await Promise.all(ports.map(canListen))).toEqual([false, false, false, false]);
    // The chain is parent → sh → node, as with npx.
    const [localPid] = childrenOf(shPid!);
    expect(readProcStat(localPid!)?.ppid).toBe(shPid);

    const killedAt = Date.now();
    parent.kill('SIGKILL');

    await eventually(async () => ((await Promise.all(ports.map(canListen))).every(Boolean) ? true : undefined), 15_000, 'the ports to be free');
    const code = await eventually(async () => readFileSync(codeFile, 'utf8').trim() || undefined, 15_000, 'local mode to exit');
    expect(code).toBe('0');
    expect(Date.now() - killedAt).toBeLessThan(15_000);
  }, 120_000);
});
