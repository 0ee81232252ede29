import { describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * docs/LOCAL.md's pytest example, run as written: only the CLI's path becomes the clone's
 * build (the example starts the installed package's). Its test is run three times over, each
 * copy with its own emailId, because the race it once had — reading `/events` as soon as the
 * record said `bounced`, while the Feedback Processor publishes the status change just after
 * writing the record — failed about every other run, not every run.
 */

const run = promisify(execFile);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC = readFileSync(join(REPO, 'docs', 'LOCAL.md'), 'utf8');
const CLI = join(REPO, 'dist', 'src', 'cli.js');
const INSTALLED_CLI = 'os.path.join("node_modules", "sesmailengine", "dist", "package", "cli.js")';

function hasPytest(): boolean {
  try {
    execFileSync('python3', ['-c', 'import boto3, pytest'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The example with its test function copied `times` times, each copy on another emailId. */
function pytestExample(times: number): string {
  const code = [...DOC.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]!).find((block) => block.includes('def test_'))!;
  expect(code).toContain(INSTALLED_CLI);
  const withCli = code.replace(INSTALLED_CLI, JSON.stringify(CLI));
  const start = withCli.indexOf('def test_');
  const test = withCli.slice(start);
  const copies = Array.from({ length: times }, (_, i) => test.replaceAll('"b-1"', `"b-${i + 1}"`).replaceAll('=b-1"', `=b-${i + 1}"`).replaceAll('"bounce@simulator.amazonses.com"', `"bounce+copy-${i + 1}@simulator.amazonses.com"`).replace(/def (test_\w+)/, `def $1_${i + 1}`));
  return `${withCli.slice(0, start)}${copies.join('\n')}`;
}

(hasPytest() ? describe : describe.skip)("LOCAL.md's pytest example (needs python3 with boto3 and pytest)", () => {
  it('passes, every time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sme-local-doc-'));
    try {
      const source = pytestExample(3);
      expect(source).toContain('"b-3"');
      expect(source).toContain('bounce+copy-3@');
      writeFileSync(join(dir, 'test_local_mode.py'), source);
      const result = await run('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test_local_mode.py'], { cwd: dir, timeout: 120_000 }).then(
        (out) => ({ code: 0, stdout: out.stdout }),
        (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, stdout: error.stdout ?? '' }),
      );
      expect(result.stdout).toContain('3 passed');
      expect(result.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
