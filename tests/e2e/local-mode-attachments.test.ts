import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { eventually, startLocalMode, type LocalMode } from '../support/local-mode.js';

/**
 * Attachments through `sesmailengine local`: a file uploaded to the local template bucket
 * under attachments/ and an inline file, published as one request, arrive in the SES
 * stand-in's /store with their names, types and bytes; a missing file is tracked ATT006.
 */

interface StoredAttachment {
  filename: string;
  contentType: string;
  size: number;
  content: string;
}

let local: LocalMode;
let s3: S3Client;

beforeAll(async () => {
  // The handlers in the main thread here (--workers 0); the other local-mode suites run them in workers.
  local = await startLocalMode(['--stack-name', 'e2e-attach', '--workers', '0']);
  s3 = new S3Client({ endpoint: local.info.s3Endpoint, region: local.info.region, credentials: local.info.credentials, forcePathStyle: true });
}, 90_000);

afterAll(async () => {
  s3?.destroy();
  await local?.stop();
}, 30_000);

async function recordIn(emailId: string, statuses: string[]): Promise<Record<string, any>> {
  return eventually(
    async () => {
      const record = await local.record(emailId);
      return record && statuses.includes(record.status) ? record : undefined;
    },
    20_000,
    `${emailId} to reach ${statuses.join('/')}`,
  );
}

describe('attachments in local mode', () => {
  it('sends a file from the local bucket and an inline file, visible in /store', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), randomBytes(5000)]);
    await s3.send(new PutObjectCommand({ Bucket: local.info.templateBucket, Key: 'attachments/e2e/chart.png', Body: png }));
    const ics = Buffer.from('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n');
    const emailId = `e2e-att-${randomUUID()}`;
    const to = `attach-${randomUUID().slice(0, 8)}@customer.example`;

    const out = await local.publish([
      local.request({
        emailId,
        to,
        templateName: 'welcome',
        templateData: { userName: 'Ada', companyName: 'Acme' },
        attachments: [
          { s3Key: 'e2e/chart.png', filename: 'chart.png', contentType: 'image/png' },
          { content: ics.toString('base64'), filename: 'meeting.ics', contentType: 'text/calendar' },
        ],
      }),
    ]);
    expect(out.FailedEntryCount).toBe(0);

    await recordIn(emailId, ['sent']);
    const store = (await (await fetch(local.info.sesStoreUrl)).json()) as {
      emails: { destination: { to: string[] }; attachments?: StoredAttachment[] }[];
    };
    const mail = store.emails.find((m) => m.destination.to.includes(to));
    expect(mail?.attachments?.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ['chart.png', 'image/png', png.length],
      ['meeting.ics', 'text/calendar', ics.length],
    ]);
    expect(Buffer.from(mail!.attachments![0]!.content, 'base64').equals(png)).toBe(true);
    expect(Buffer.from(mail!.attachments![1]!.content, 'base64').equals(ics)).toBe(true);
  }, 40_000);

  it('tracks a request whose file is not in the bucket as failed ATT006', async () => {
    const emailId = `e2e-att-missing-${randomUUID()}`;
    await local.publish([
      local.request({
        emailId,
        to: 'nobody@customer.example',
        templateName: 'welcome',
        templateData: { userName: 'Ada', companyName: 'Acme' },
        attachments: [{ s3Key: 'e2e/not-uploaded.pdf', filename: 'report.pdf', contentType: 'application/pdf' }],
      }),
    ]);
    const record = await recordIn(emailId, ['failed']);
    expect(record.errorCode).toBe('ATT006');
    expect(record.errorMessage).toContain('attachments/e2e/not-uploaded.pdf');
  }, 40_000);
});
