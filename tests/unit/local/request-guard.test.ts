import { describe, expect, it } from '@jest/globals';
import type { IncomingHttpHeaders } from 'node:http';
import { checkLocalRequest, isWellEncodedPath, localOrigins, refusalBody, requestUrl, s3BucketCheck, s3KeyCheck } from '../../../src/local/request-guard.js';

const PORT = 4010;

function check(headers: IncomingHttpHeaders, method = 'GET', url = '/info') {
  return checkLocalRequest({ method, url, headers: { host: `127.0.0.1:${PORT}`, ...headers } }, PORT);
}

describe('the Host check', () => {
  it('accepts 127.0.0.1, localhost and [::1] with the server port, in any case', () => {
    for (const host of [`127.0.0.1:${PORT}`, `localhost:${PORT}`, `[::1]:${PORT}`, `LocalHost:${PORT}`]) expect(check({ host })).toBeUndefined();
  });

  it('refuses a rebound name, another port, no port and no Host with 421 LOC004', () => {
    for (const host of ['evil.example', `evil.example:${PORT}`, '127.0.0.1:4011', '127.0.0.1', 'localhost', `127.0.0.2:${PORT}`, `0.0.0.0:${PORT}`]) {
      expect(check({ host })).toMatchObject({ status: 421, code: 'LOC004' });
    }
    expect(checkLocalRequest({ method: 'GET', url: '/', headers: {} }, PORT)).toMatchObject({ status: 421, code: 'LOC004' });
  });

  it('refuses a request with two Host lines, whichever comes first, with 421 LOC004', () => {
    const own = `127.0.0.1:${PORT}`;
    for (const rawHeaders of [['Host', own, 'Host', 'evil.example'], ['host', own, 'HOST', own]]) {
      const refusal = checkLocalRequest({ method: 'GET', url: '/info', headers: { host: own }, rawHeaders }, PORT);
      expect(refusal).toMatchObject({ status: 421, code: 'LOC004' });
      expect(refusal?.message).toContain('Host more than once');
    }
    expect(checkLocalRequest({ method: 'GET', url: '/info', headers: { host: own }, rawHeaders: ['Host', own, 'Accept', '*/*'] }, PORT)).toBeUndefined();
  });

  it('names the endpoint to use in its message', () => {
    expect(check({ host: 'evil.example' })?.message).toContain(`http://127.0.0.1:${PORT}`);
  });
});

describe('the browser check', () => {
  it('accepts requests without Origin (SDKs, CLI, curl) and from the server\'s own origins', () => {
    expect(check({}, 'POST')).toBeUndefined();
    for (const origin of localOrigins(PORT)) expect(check({ origin, 'sec-fetch-site': 'same-origin' }, 'POST')).toBeUndefined();
  });

  it('refuses another origin, another port of the same host and the opaque "null" origin with 403 LOC005', () => {
    for (const origin of ['https://evil.example', 'http://127.0.0.1:3000', 'http://localhost', 'null']) {
      expect(check({ origin }, 'POST', '/schedules/x')).toMatchObject({ status: 403, code: 'LOC005' });
    }
  });

  it('refuses a preflight from another origin', () => {
    expect(check({ origin: 'https://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS')).toMatchObject({ status: 403 });
  });

  it('refuses cross-site requests without Origin, but lets a followed link (GET navigation) through', () => {
    expect(check({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' })).toMatchObject({ status: 403, code: 'LOC005' });
    expect(check({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }, 'POST')).toMatchObject({ status: 403 });
    expect(check({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }, 'GET', '/unsubscribe?token=t')).toBeUndefined();
  });
});

describe('the path check', () => {
  it('refuses malformed percent-encoding and %00 with 400, and accepts well-formed escapes', () => {
    for (const url of ['/schedules/%E0%A4%A', '/%zz', '/a%', '/%C3', '/b/%00']) expect(check({}, 'GET', url)).toMatchObject({ status: 400, type: 'InvalidURI' });
    for (const url of ['/schedules/a%20b', '/b/%C3%A9', '/x?q=%zz', '/']) expect(check({}, 'GET', url)).toBeUndefined();
    expect(isWellEncodedPath('/a?b=%')).toBe(true);
  });

  it('refuses a target that is not a path', () => {
    for (const url of ['*', 'http://evil.example/']) expect(check({}, 'GET', url)).toMatchObject({ status: 400 });
  });

  it('reads a path starting with // as a path, not as a host', () => {
    expect(requestUrl({ url: '//evil.example/x?a=1' }).pathname).toBe('//evil.example/x');
    expect(requestUrl({ url: '//' }).pathname).toBe('//');
  });

  it('refuses S3 bucket names that name a directory outside the store', () => {
    for (const url of ['/..', '/%2E%2E/key', '/./x', '/a%2Fb/k', '/a%5Cb']) expect(s3BucketCheck({ url })).toMatchObject({ status: 400, type: 'InvalidBucketName' });
    for (const url of ['/', '/my-bucket', '/my.bucket/a/../b', '/?list-type=2']) expect(s3BucketCheck({ url })).toBeUndefined();
  });

  it('refuses S3 object keys that climb above their bucket, in the path and in a copy source', () => {
    const outside = ['/b/../../../tmp/x', '/b/..%2F..%2F..%2Ftmp%2Fx', '/b/%2e%2e/%2e%2e/x', '/b/a/../../x', '/b/..\\..\\x'];
    for (const url of outside) expect(s3KeyCheck({ url, headers: {} })).toMatchObject({ status: 400, type: 'InvalidArgument' });
    expect(s3KeyCheck({ url: '/b/k', headers: { 'x-amz-copy-source': '/b/..%2F..%2F..%2Fetc%2Fx' } })).toMatchObject({ status: 400, type: 'InvalidArgument' });
    expect(s3KeyCheck({ url: '/b/k', headers: { 'x-amz-copy-source': '../k' } })).toMatchObject({ status: 400, type: 'InvalidBucketName' });
    const inside = ['/b/templates/welcome/metadata.json', '/b/a/../b', '/b/..x/y..', '/b/', '/b?prefix=../'];
    for (const url of inside) expect(s3KeyCheck({ url, headers: {} })).toBeUndefined();
    expect(s3KeyCheck({ url: '/b/k', headers: { 'x-amz-copy-source': 'b/templates/welcome/template.html?versionId=1' } })).toBeUndefined();
  });

  it('refuses a form upload (POST Object), whose key is in the body, and lets the other POSTs through', () => {
    const form = { 'content-type': 'multipart/form-data; boundary=x' };
    expect(s3KeyCheck({ method: 'POST', url: '/b', headers: form })).toMatchObject({ status: 400, type: 'InvalidArgument' });
    expect(s3KeyCheck({ method: 'POST', url: '/b/', headers: form })).toMatchObject({ status: 400 });
    expect(s3KeyCheck({ method: 'POST', url: '/b?delete', headers: { 'content-type': 'application/xml' } })).toBeUndefined();
    expect(s3KeyCheck({ method: 'POST', url: '/b/k?uploads', headers: {} })).toBeUndefined();
  });
});

describe('refusal bodies', () => {
  const refusal = { status: 403 as const, type: 'AccessDeniedException', code: 'LOC005', message: 'LOC005: <no> & "yes"' };

  it('are AWS JSON errors with the project code under error', () => {
    const { contentType, body } = refusalBody(refusal, 'json');
    expect(contentType).toBe('application/json');
    expect(JSON.parse(body)).toEqual({ __type: 'AccessDeniedException', message: refusal.message, error: { code: 'LOC005', message: refusal.message } });
  });

  it('are S3 XML errors for S3, escaped', () => {
    const { body } = refusalBody(refusal, 'xml');
    expect(body).toContain('<Code>AccessDenied</Code>');
    expect(body).toContain('&#60;no&#62; &#38; &#34;yes&#34;');
  });
});
