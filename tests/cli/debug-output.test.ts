import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../support/local-mode.js';

/**
 * What --debug adds to an error, on the built CLI in a child process: an STS endpoint on
 * 127.0.0.1 refuses the credentials, so `status` fails with AWS002 caused by an AWS error.
 */

let server: Server;
let endpoint: string;
const cwd = mkdtempSync(join(tmpdir(), 'sme-debug-'));

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(403, { 'content-type': 'text/xml', 'x-amzn-requestid': 'req-debug-1234' });
      response.end(
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>req-debug-1234</RequestId></ErrorResponse>',
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
});

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: cwd,
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_REGION: 'us-east-1',
        AWS_MAX_ATTEMPTS: '1',
      },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('--debug', () => {
  it('is not needed for the message and the fix, and adds nothing without it', async () => {
    const result = await runCli(['status']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error AWS002: /m);
    expect(result.stderr).toMatch(/^Fix: /m);
    expect(result.stderr).not.toContain('Caused by');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('adds the stack and the AWS error behind it: name, HTTP status, request id, fault', async () => {
    for (const args of [['status', '--debug'], ['--debug', 'status']]) {
      const result = await runCli(args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^Error AWS002: /m);
      expect(result.stderr).toContain('Caused by: InvalidClientTokenId: The security token included in the request is invalid.');
      expect(result.stderr).toMatch(/AWS: fault=client httpStatusCode=403 requestId=req-debug-1234/);
      expect(result.stderr).toMatch(/\n\s+at /);
    }
  });
});
