import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import {
  isSnsCertificateUrl,
  snsStringToSign,
  verifySnsMessage,
  verifySnsSignature,
} from '../../functions/core/sns-signature.js';
import { readFixture } from '../support/ses-events.js';

const CERT = readFixture('sns-signed-real/signing-cert-7ff5318490ec183fbaddaa2a969abfda.pem');
const real = (name: string) => JSON.parse(readFixture(`sns-signed-real/${name}`)) as Record<string, string>;

describe('real signed SNS notifications (certificate expired in 2022: only its key is used)', () => {
  it.each([
    'notification-sigv1-sha1.json',
    'notification-sigv2-sha256.json',
    'lambda-style-notification-sigv1-sha1.json',
  ])('%s verifies', async (name) => {
    const message = real(name);
    const fetched: string[] = [];
    const result = await verifySnsMessage(message, async (url) => {
      fetched.push(url);
      return CERT;
    });
    expect(result).toEqual({ ok: true });
    expect(fetched).toEqual(['https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem']);
  });

  it.each([
    ['Message', 'Hello world!'],
    ['MessageId', '00000000-5dd3-9163-81d851212f3a'],
    ['Timestamp', '2022-07-28T21:23:58.318Z'],
    ['TopicArn', 'arn:aws:sns:us-east-2:295079676684:another'],
  ])('fails when %s is changed', (key, value) => {
    const message = { ...real('notification-sigv2-sha256.json'), [key]: value };
    expect(verifySnsSignature(message, CERT)).toEqual({ ok: false, reason: 'signature does not match' });
  });

  it('fails when a Subject is added', () => {
    const message = { ...real('notification-sigv1-sha1.json'), Subject: 'Injected' };
    expect(verifySnsSignature(message, CERT).ok).toBe(false);
  });

  it('fails when the signature version is swapped', () => {
    const message = { ...real('notification-sigv1-sha1.json'), SignatureVersion: '2' };
    expect(verifySnsSignature(message, CERT).ok).toBe(false);
  });

  it('fails against another key', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(verifySnsSignature(real('notification-sigv1-sha1.json'), publicKey.export({ type: 'spki', format: 'pem' }).toString()).ok).toBe(false);
  });

  it('rejects unknown versions, missing signatures and garbage', () => {
    expect(verifySnsSignature({ ...real('notification-sigv1-sha1.json'), SignatureVersion: '3' }, CERT).ok).toBe(false);
    expect(verifySnsSignature({ ...real('notification-sigv1-sha1.json'), Signature: '' }, CERT).ok).toBe(false);
    expect(verifySnsSignature({ ...real('notification-sigv1-sha1.json'), Signature: '!!!' }, CERT).ok).toBe(false);
    expect(verifySnsSignature(null, CERT).ok).toBe(false);
    expect(verifySnsSignature(real('notification-sigv1-sha1.json'), 'not a certificate').ok).toBe(false);
  });
});

describe('certificate URLs', () => {
  it.each([
    ['https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5.pem', true],
    ['https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem', true],
    ['https://sns.ap-southeast-2.amazonaws.com/x.pem', true],
    ['https://sns.us-gov-west-1.amazonaws.com/x.pem', true],
    ['http://sns.us-east-2.amazonaws.com/x.pem', false],
    ['https://sns.us-east-2.amazonaws.com/x.pem.txt', false],
    ['https://sns.us-east-2.amazonaws.com.evil.com/x.pem', false],
    ['https://evil.com/sns.us-east-2.amazonaws.com/x.pem', false],
    ['https://sns.us-east-2.amazonaws.com:8443/x.pem', false],
    ['https://user@sns.us-east-2.amazonaws.com/x.pem', false],
    ['https://sqs.us-east-2.amazonaws.com/x.pem', false],
    ['https://sns.amazonaws.com/x.pem', false],
    ['not a url', false],
    [42, false],
  ])('%s → %s', (url, expected) => {
    expect(isSnsCertificateUrl(url)).toBe(expected);
  });

  it('are checked before anything is fetched', async () => {
    let fetched = false;
    const message = { ...real('notification-sigv1-sha1.json'), SigningCertURL: 'https://attacker.example/cert.pem' };
    const result = await verifySnsMessage(message, async () => {
      fetched = true;
      return CERT;
    });
    expect(result.ok).toBe(false);
    expect(fetched).toBe(false);
  });

  it('a failed fetch is a failed verification, not an exception', async () => {
    const result = await verifySnsMessage(real('notification-sigv1-sha1.json'), () => Promise.reject(new Error('timeout')));
    expect(result).toMatchObject({ ok: false });
  });
});

describe('the string to sign', () => {
  it('for a notification lists Message, MessageId, Subject, Timestamp, TopicArn, Type', () => {
    const message = JSON.parse(readFixture('sns-envelope/notification.json')) as Record<string, string>;
    expect(snsStringToSign(message)).toBe(
      'Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nMy First Message\n' +
        'Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n',
    );
  });

  it('for a subscription confirmation lists Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type', () => {
    const message = JSON.parse(readFixture('sns-envelope/subscription-confirmation.json')) as Record<string, string>;
    const expected = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
      .map((key) => `${key}\n${message[key]}\n`)
      .join('');
    expect(snsStringToSign(message)).toBe(expected);
    expect(snsStringToSign({ ...message, Type: 'UnsubscribeConfirmation' })).toContain('SubscribeURL\n');
  });

  it('is undefined for unknown types and missing keys', () => {
    expect(snsStringToSign({ Type: 'Other' })).toBeUndefined();
    const { Timestamp: _dropped, ...rest } = real('notification-sigv1-sha1.json');
    expect(snsStringToSign(rest)).toBeUndefined();
  });
});
