import { describe, expect, it } from '@jest/globals';
import { evaluateDeliverability, type DeliverabilityFacts } from '../../../src/ops/deliverability.js';
import { printDeliverability, terminalText, warnDeliverability } from '../../../src/ops/print.js';
import { createUi } from '../../../src/ui.js';
import { captureIo } from '../../support/cli-harness.js';

/**
 * What the deliverability check prints is partly text from outside: SES's identity answer,
 * template names listed from the bucket, the stack's sender. None of it may drive the
 * terminal (clear the screen, retitle the window, forge a hyperlink, reorder the line).
 */

const HOSTILE = ['\u001b[2J', '\u001b]0;owned\u0007', '\u001b]8;;https://evil.example\u001b\\', '\u202e'];

function hostileFacts(): DeliverabilityFacts {
  return {
    sender: 'noreply@example.com',
    region: 'us-east-1',
    domainIdentity: {
      identity: 'example.com',
      verified: true,
      dkim: { signingEnabled: true, status: `PENDING${HOSTILE[0]}`, tokens: [] },
      mailFrom: { domain: `mail.example.com${HOSTILE[1]}`, status: `FAILED${HOSTILE[2]}` },
    },
    addressIdentity: null,
    dmarc: [{ name: '_dmarc.example.com', records: [] }],
    templates: [{ name: `news${HOSTILE[3]}letter${HOSTILE[0]}`, category: 'transactional', usesUnsubscribeLink: true }],
  };
}

describe('the deliverability section at a terminal', () => {
  it("prints SES's answers and template names with their control characters and bidi overrides as ?", () => {
    const io = captureIo();
    const ui = createUi(io);

    printDeliverability(ui, evaluateDeliverability(hostileFacts()));
    warnDeliverability(ui, evaluateDeliverability(hostileFacts()));

    for (const text of [io.out(), io.err()]) {
      for (const sequence of HOSTILE) expect(text).not.toContain(sequence);
      expect(text).not.toContain('\u0007');
    }
    expect(io.out()).toContain('MAIL FROM mail.example.com?]0;owned? is FAILED?]8;;https://evil.example?\\:');
    expect(io.err()).toContain('news?letter?[2J: links to unsubscribeLink');
  });

  it('leaves ordinary text, accents and IDN names as they are', () => {
    expect(terminalText('DKIM for bücher.de is PENDING: "quoted" — fine.')).toBe('DKIM for bücher.de is PENDING: "quoted" — fine.');
  });
});
