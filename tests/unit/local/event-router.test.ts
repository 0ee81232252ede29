import { describe, expect, it } from '@jest/globals';
import { routeEvent } from '../../../src/local/event-router.js';

const BUS = 'app-EmailBus';
const route = (source: string, detailType: string, bus = BUS) => routeEvent({ source, 'detail-type': detailType }, bus, BUS);

describe('event routing (the stack rules)', () => {
  it('sends "Email Request" from any application source on the engine bus to the send queue', () => {
    expect(route('my.app', 'Email Request')).toBe('send');
    expect(route('com.example.billing', 'Email Request')).toBe('send');
  });

  it('never sends the engine\'s own events to the send queue', () => {
    expect(route('sesmailengine', 'Email Request')).toBe('none');
    expect(route('sesmailengine', 'Email Retry')).toBe('none');
  });

  it('keeps "Email Status Changed" from the engine in the status log', () => {
    expect(route('sesmailengine', 'Email Status Changed')).toBe('status');
    expect(route('my.app', 'Email Status Changed')).toBe('none');
  });

  it('sends "Webhook Test" from the engine only to the webhook queue', () => {
    expect(route('sesmailengine', 'Webhook Test')).toBe('webhook');
    expect(route('my.app', 'Webhook Test')).toBe('none');
    expect(route('sesmailengine', 'Webhook Test', 'default')).toBe('none');
  });

  it('sends SES events to the feedback queue from the engine bus and from "default"', () => {
    expect(route('aws.ses', 'Email Delivered')).toBe('feedback');
    expect(route('aws.ses', 'Email Bounced', 'default')).toBe('feedback');
  });

  it('drops what no rule matches', () => {
    expect(route('my.app', 'Something Else')).toBe('none');
    expect(route('my.app', 'Email Request', 'default')).toBe('none');
    expect(route('aws.ses', 'Email Delivered', 'other-bus')).toBe('none');
  });
});
