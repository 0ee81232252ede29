import { describe, expect, it } from '@jest/globals';
import { BroadcastChannel } from 'node:worker_threads';
import type { SQSEvent } from 'aws-lambda';
import { HandlerWorkers } from '../../src/local/handler-workers.js';
import type { WorkerSetup } from '../../src/local/handler-worker.js';

const script = new URL('../support/protocol-worker.mjs', import.meta.url);
const setup = { marker: 'setup-seen' } as unknown as WorkerSetup;

function event(body: string): SQSEvent {
  return { Records: [{ messageId: 'm1', receiptHandle: 'r1', body } as SQSEvent['Records'][number]] };
}

type Answer = { threadId: number; answer: { statusCode: number; body: string } | null; setup: string };

async function withWorkers<T>(options: Partial<Parameters<typeof HandlerWorkers.start>[0]>, use: (pool: HandlerWorkers) => Promise<T>): Promise<T> {
  const pool = await HandlerWorkers.start({ count: 2, setup, routes: {}, script, ...options });
  try {
    return await use(pool);
  } finally {
    await pool.close();
  }
}

describe('HandlerWorkers', () => {
  it('starts each worker with the setup and spreads concurrent batches over them', async () => {
    await withWorkers({}, async (pool) => {
      const handler = pool.handler('emailSender');

      const answers = (await Promise.all([handler(event('slow')), handler(event('slow'))])) as unknown as Answer[];

      expect(answers.map((a) => a.setup)).toEqual(['setup-seen', 'setup-seen']);
      expect(new Set(answers.map((a) => a.threadId)).size).toBe(2);
    });
  });

  it('answers a worker’s call from the main thread’s route for that service', async () => {
    const seen: { path: string; body: string }[] = [];
    const routes = {
      dynamodb: (request: { path: string }, body: string) => {
        seen.push({ path: request.path, body });
        return { statusCode: 200, body: '{"Item":{}}' };
      },
    };
    await withWorkers({ routes: routes as never }, async (pool) => {
      const answer = (await pool.handler('feedbackProcessor')(event('call dynamodb'))) as unknown as Answer;

      expect(answer.answer).toEqual({ statusCode: 200, body: '{"Item":{}}' });
      expect(seen).toHaveLength(1);
      expect(JSON.parse(seen[0]!.body)).toEqual({ from: answer.threadId });
    });
  });

  it('answers a call for a service the main thread does not serve with null, so the worker goes over HTTP', async () => {
    await withWorkers({}, async (pool) => {
      const answer = (await pool.handler('emailSender')(event('call ses'))) as unknown as Answer;

      expect(answer.answer).toBeNull();
    });
  });

  it('turns a route that throws into a 500 InternalFailure answer', async () => {
    const routes = {
      local: () => {
        throw new Error('store broke');
      },
    };
    await withWorkers({ routes: routes as never }, async (pool) => {
      const answer = (await pool.handler('emailSender')(event('call local'))) as unknown as Answer;

      expect(answer.answer?.statusCode).toBe(500);
      expect(JSON.parse(answer.answer!.body)).toEqual({ __type: 'InternalFailure', message: 'store broke' });
    });
  });

  it('fails the batch when the handler throws, and passes log entries on', async () => {
    const entries: Record<string, unknown>[] = [];
    await withWorkers({ log: (entry) => entries.push(entry) }, async (pool) => {
      await expect(pool.handler('emailSender')(event('throw'))).rejects.toThrow('the handler threw');
      await pool.handler('feedbackProcessor')(event('log'));

      expect(entries).toEqual([expect.objectContaining({ handler: 'feedbackProcessor' })]);
    });
  });

  it('fails the batches of a worker that dies and starts another in its place', async () => {
    const reports: string[] = [];
    await withWorkers({ report: (line) => reports.push(line) }, async (pool) => {
      const handler = pool.handler('emailSender');

      await expect(handler(event('crash'))).rejects.toThrow('exited (code 3) during the batch');
      for (let i = 0; i < 100 && pool.size < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));

      expect(pool.size).toBe(2);
      expect(reports.some((line) => line.includes('starting another'))).toBe(true);
      await expect(handler(event('ok'))).resolves.toMatchObject({ batchItemFailures: [] });
    });
  });

  it('stops a worker that becomes ready after the start failed, instead of leaving it running', async () => {
    const name = `split-start-${process.pid}-${Date.now()}`;
    const channel = new BroadcastChannel(name);
    let alive = 0;
    channel.onmessage = () => {
      alive += 1;
    };
    try {
      const splitSetup = { splitStart: name } as unknown as WorkerSetup;

      await expect(HandlerWorkers.start({ count: 2, setup: splitSetup, routes: {}, script })).rejects.toThrow('fails to start');
      await new Promise((resolve) => setTimeout(resolve, 600));
      const before = alive;
      await new Promise((resolve) => setTimeout(resolve, 200));

      expect(alive).toBe(before);
    } finally {
      channel.close();
    }
  });

  it('refuses to start when a worker cannot load', async () => {
    await expect(HandlerWorkers.start({ count: 1, setup, routes: {}, script: new URL('../support/no-such-worker.mjs', import.meta.url) })).rejects.toThrow();
  });
});
