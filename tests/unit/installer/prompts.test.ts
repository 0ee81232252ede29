import { describe, it, expect } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { createPrompter, noPrompter } from '../../../src/prompts.js';

/** The prompt module with @inquirer/prompts on plain streams (the tmux test covers a real terminal and Ctrl-C). */

function streams() {
  const input = new PassThrough();
  const output = new PassThrough();
  let screen = '';
  output.on('data', (c: Buffer) => (screen += c.toString()));
  return { input, output, screen: () => screen };
}

describe('createPrompter', () => {
  it('returns the typed answer, trimmed', async () => {
    const s = streams();
    const answer = createPrompter(s).text({ message: 'Stack name', default: 'sesmailengine' });
    setTimeout(() => s.input.write('  mystack  \n'), 50);
    expect(await answer).toBe('mystack');
    expect(s.screen()).toContain('Stack name');
  });

  it('takes the default on an empty answer', async () => {
    const s = streams();
    const answer = createPrompter(s).text({ message: 'Stack name', default: 'sesmailengine' });
    setTimeout(() => s.input.write('\n'), 50);
    expect(await answer).toBe('sesmailengine');
  });

  it('shows the validation sentence and waits for a valid answer', async () => {
    const s = streams();
    const answer = createPrompter(s).text({ message: 'Sender', validate: (v) => (v.includes('@') ? undefined : 'Give an e-mail address.') });
    setTimeout(() => s.input.write('nope\n'), 50);
    setTimeout(() => {
      s.input.write('\b'.repeat(4));
      s.input.write('a@b.co\n');
    }, 300);
    await expect(answer).resolves.toMatch(/a@b\.co$/);
    expect(s.screen()).toContain('Give an e-mail address.');
  });

  it('answers a confirmation', async () => {
    const s = streams();
    const answer = createPrompter(s).confirm('Go on?', false);
    setTimeout(() => s.input.write('y\n'), 50);
    expect(await answer).toBe(true);
  });
});

describe('noPrompter', () => {
  it('refuses to ask in a non-interactive run', async () => {
    await expect(noPrompter.text({ message: 'x' })).rejects.toThrow(/non-interactive/);
    await expect(noPrompter.confirm('x')).rejects.toThrow(/non-interactive/);
  });
});
