import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compareSemver, isSemver, parseSemver } from '../../functions/core/semver.js';
import { decideSeedAction, UNVERSIONED_REASON } from '../../functions/core/seed-plan.js';

describe('parseSemver', () => {
  it('reads major, minor, patch and pre-release identifiers', () => {
    expect(parseSemver('1.2.3')).toEqual({ major: 1, minor: 2, patch: 3, prerelease: [] });
    expect(parseSemver('1.0.0-rc.1')).toEqual({ major: 1, minor: 0, patch: 0, prerelease: ['rc', 1] });
    expect(parseSemver('2.0.0+build.7')).toEqual({ major: 2, minor: 0, patch: 0, prerelease: [] });
  });

  it.each(['1', '1.2', '01.2.3', '1.02.3', '1.2.3-', '1.2.3-01', 'v1.2.3', '1.2.3.4', '', 'latest', '1.2.3-a..b'])(
    'rejects "%s"',
    (value) => {
      expect(parseSemver(value)).toBeUndefined();
      expect(isSemver(value)).toBe(false);
    },
  );

  it('rejects non-strings', () => {
    expect(parseSemver(1)).toBeUndefined();
    expect(parseSemver(undefined)).toBeUndefined();
    expect(parseSemver({ version: '1.0.0' })).toBeUndefined();
  });
});

describe('compareSemver', () => {
  it('orders the semver.org precedence example', () => {
    const ordered = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.1.0',
      '1.10.0',
      '2.0.0',
    ];
    for (let i = 0; i < ordered.length - 1; i++) {
      expect(compareSemver(ordered[i]!, ordered[i + 1]!)).toBe(-1);
      expect(compareSemver(ordered[i + 1]!, ordered[i]!)).toBe(1);
    }
  });

  it('compares numerically, not as text', () => {
    expect(compareSemver('1.10.0', '1.9.0')).toBe(1);
    expect(compareSemver('10.0.0', '9.99.99')).toBe(1);
  });

  it('ignores build metadata', () => {
    expect(compareSemver('1.0.0+a', '1.0.0+b')).toBe(0);
  });

  it('throws on a version that is not semver', () => {
    expect(() => compareSemver('1.0', '1.0.0')).toThrow(/not a semantic version/);
  });

  it('is antisymmetric and reflexive for any versions', () => {
    const version = fc
      .tuple(fc.nat(30), fc.nat(30), fc.nat(30), fc.option(fc.constantFrom('alpha', 'beta.1', 'rc.2', '1'), { nil: undefined }))
      .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ''}`);
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(compareSemver(a, a)).toBe(0);
        expect(compareSemver(a, b)).toBe(-compareSemver(b, a) || 0);
      }),
    );
  });
});

describe('decideSeedAction', () => {
  it('installs a template that is not there', () => {
    expect(decideSeedAction('1.0.0', { kind: 'absent' }).action).toBe('install');
  });

  it('updates an installed template with an older version', () => {
    expect(decideSeedAction('1.1.0', { kind: 'present', version: '1.0.9' }).action).toBe('update');
    expect(decideSeedAction('1.0.0', { kind: 'present', version: '1.0.0-beta' }).action).toBe('update');
  });

  it('skips an installed template with the same version', () => {
    expect(decideSeedAction('1.0.0', { kind: 'present', version: '1.0.0' }).action).toBe('skip');
  });

  it('never downgrades a customised template with a newer version', () => {
    const decision = decideSeedAction('1.0.0', { kind: 'present', version: '1.1.0' });
    expect(decision.action).toBe('skip');
    expect(decision.reason).toMatch(/newer/);
  });

  it('leaves alone an installed template whose version cannot be read', () => {
    expect(decideSeedAction('2.0.0', { kind: 'present', version: 'custom' })).toMatchObject({ action: 'skip', reason: expect.stringContaining('not a semantic version') });
  });

  it('leaves alone an installed metadata.json that is not JSON, saying so', () => {
    expect(decideSeedAction('2.0.0', { kind: 'present', version: undefined, unreadable: true })).toEqual({
      action: 'skip',
      reason: 'installed metadata.json is not valid JSON; left unchanged',
    });
  });

  it('treats an installed template without a version as customised and never overwrites it', () => {
    for (const version of [undefined, null]) {
      expect(decideSeedAction('99.0.0', { kind: 'present', version })).toEqual({ action: 'skip', reason: UNVERSIONED_REASON });
    }
  });

  it('refuses a starter template without a semantic version', () => {
    expect(() => decideSeedAction('1.0', { kind: 'absent' })).toThrow(TypeError);
  });
});
