import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { startStandIns, type StandIns } from '../support/stand-ins.js';
import { requestEvent, sqsRecord, uploadStarterTemplates, senderEnv } from '../support/sender-events.js';

/**
 * A request the parser itself cannot judge (it throws, against its promise) fails only its
 * own record: its batch-mates are sent, it is returned until its third receive, then tracked
 * failed ENG001 under the id the sender gives requests without one. The parser is replaced
 * for requests whose body carries "parser-bomb"; every other body is parsed for real.
 */

const actual = await import('../../functions/core/request-validation.js');
jest.unstable_mockModule('../../functions/core/request-validation.js', () => ({
  ...actual,
  parseSendRequest: (body: string, messageId: string, now?: Date) => {
    if (body.includes('parser-bomb')) throw new TypeError("Cannot read properties of undefined (reading 'parser-bomb')");
    return actual.parseSendRequest(body, messageId, now);
  },
}));
const { createEmailSenderHandler } = await import('../../functions/email-sender/handler.js');

let env: StandIns;

beforeAll(async () => {
  env = await startStandIns('poisonbatch');
  await uploadStarterTemplates(env.s3, env.bucket, ['welcome']);
});

afterAll(async () => {
  await env?.stop();
});

const received = (record: SQSRecord, count: number): SQSRecord => ({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(count) } });

describe('a parser that throws', () => {
  it('fails its own record only, and from the third receive tracks it ENG001', async () => {
    const handler = createEmailSenderHandler({
      clients: { ddb: env.ddb, s3: env.s3, ses: env.ses },
      env: senderEnv(env, 'poison-tracking'),
      log: () => undefined,
    });
    const bomb = sqsRecord(requestEvent({ emailId: 'parser-bomb-1', to: 'a@customer.example', templateName: 'welcome' }), 'bomb-msg-1');
    const mate = sqsRecord(requestEvent({ emailId: 'bomb-mate-1', to: 'bomb-mate@customer.example', templateName: 'welcome', templateData: { userName: 'A', companyName: 'B' } }));

    const first = await handler({ Records: [bomb, mate] });
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'bomb-msg-1' }]);
    const sent = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId: 'bomb-mate-1' }, ConsistentRead: true }));
    expect(sent.Item).toMatchObject({ status: 'sent' });

    expect((await handler({ Records: [received(bomb, 3)] })).batchItemFailures).toEqual([]);
    const tracked = await env.ddb.send(new GetCommand({ TableName: env.tables.tracking, Key: { emailId: 'email-bomb-msg-1' }, ConsistentRead: true }));
    expect(tracked.Item).toMatchObject({ status: 'failed', errorCode: 'ENG001', toEmail: '(missing)' });
    expect(tracked.Item!.errorMessage).toContain("TypeError: Cannot read properties of undefined (reading 'parser-bomb')");
  });
});
