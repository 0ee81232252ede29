import { describe, expect, it } from '@jest/globals';
import { messageTagProblem, sendEmailProblem, withSesSendRules, type StandInHandler, type StandInResponse } from '../../../src/local/ses-send-rules.js';

const ALLOWED = "only alphanumeric ASCII characters, '_', and '-' are allowed.";

describe('messageTagProblem', () => {
  it.each([
    ['emailId', 'order-42_A'],
    ['a'.repeat(255), 'b'.repeat(255)],
    ['templateName', 'welcome'],
  ])('accepts %s = %s', (name, value) => {
    expect(messageTagProblem(name, value)).toBeUndefined();
  });

  it.each([
    ['', '', 'The tag name must be specified.'],
    ['', 'x', 'The tag name must be specified.'],
    ['x', '', 'The tag value must be specified.'],
    ['n'.repeat(256), 'x', 'Tag name cannot exceed 255 characters.'],
    ['x', 'v'.repeat(256), 'Tag value cannot exceed 255 characters.'],
    ['a:b', 'x', `Invalid tag name <a:b>: ${ALLOWED}`],
    ['x', 'a.b@c', `Invalid tag value <a.b@c>: ${ALLOWED}`],
    ['x', '€', `Invalid tag value <€>: ${ALLOWED}`],
    // SES checks the name before the value.
    ['bad@name', 'v'.repeat(300), `Invalid tag name <bad@name>: ${ALLOWED}`],
  ])('refuses %s = %s with SES’s message', (name, value, message) => {
    expect(messageTagProblem(name, value)).toBe(message);
  });
});

describe('sendEmailProblem', () => {
  it('names the first tag SES would refuse', () => {
    expect(sendEmailProblem({ EmailTags: [{ Name: 'ok', Value: 'ok' }, { Name: 'x', Value: 'a b' }, { Name: '', Value: '' }] })).toBe(
      `Invalid tag value <a b>: ${ALLOWED}`,
    );
  });

  it('leaves shapes the stand-in’s own schema refuses to it', () => {
    expect(sendEmailProblem({ EmailTags: 'nope' })).toBeUndefined();
    expect(sendEmailProblem(null)).toBeUndefined();
    expect(sendEmailProblem({})).toBeUndefined();
  });
});

describe('withSesSendRules', () => {
  function call(body: unknown): { status?: number; headers: Record<string, string>; payload?: unknown; passed: boolean } {
    const seen: { status?: number; headers: Record<string, string>; payload?: unknown; passed: boolean } = { headers: {}, passed: false };
    const res: StandInResponse = {
      status: (code) => ((seen.status = code), res),
      set: (name, value) => ((seen.headers[name] = value), res),
      send: (payload) => ((seen.payload = payload), res),
    };
    const inner: StandInHandler = () => {
      seen.passed = true;
    };
    withSesSendRules(inner)({ body, headers: {}, header: () => undefined }, res, () => undefined);
    return seen;
  }

  it('answers a refused tag with 400 BadRequestException and never reaches the stand-in', () => {
    expect(call({ EmailTags: [{ Name: 'emailId', Value: 'a/b' }] })).toEqual({
      status: 400,
      headers: { 'x-amzn-ErrorType': 'BadRequestException' },
      payload: { message: `Invalid tag value <a/b>: ${ALLOWED}` },
      passed: false,
    });
  });

  it('passes an acceptable request to the stand-in', () => {
    expect(call({ EmailTags: [{ Name: 'emailId', Value: 'ab' }] }).passed).toBe(true);
  });
});
