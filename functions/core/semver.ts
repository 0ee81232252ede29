/**
 * Semantic Versioning 2.0.0 parsing and precedence, for template `metadata.json`
 * versions. The seeder compares a starter template's version with the installed one
 * and never replaces an installed template that is as new or newer.
 */

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated pre-release identifiers ("1.0.0-rc.1" → ["rc", 1]); empty for a release. */
  prerelease: (string | number)[];
}

// From semver.org, section "Is there a suggested regular expression".
const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Parses a version such as "1.2.3", "1.2.3-beta.2" or "1.2.3+build.5"; undefined if not valid. */
export function parseSemver(value: unknown): SemVer | undefined {
  if (typeof value !== 'string') return undefined;
  const match = SEMVER_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const numbers = [match[1], match[2], match[3]].map(Number);
  if (numbers.some((n) => !Number.isSafeInteger(n))) return undefined;
  const prerelease = match[4]
    ? match[4].split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id))
    : [];
  return { major: numbers[0]!, minor: numbers[1]!, patch: numbers[2]!, prerelease };
}

export function isSemver(value: unknown): value is string {
  return parseSemver(value) !== undefined;
}

function compareIdentifiers(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  // Numeric identifiers always have lower precedence than alphanumeric ones.
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Precedence of two parsed versions: -1, 0 or 1. Build metadata does not count. */
export function compareParsed(a: SemVer, b: SemVer): -1 | 0 | 1 {
  for (const key of ['major', 'minor', 'patch'] as const) {
    if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
  }
  // A release ranks above any of its pre-releases.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    if (a.prerelease.length === b.prerelease.length) return 0;
    return a.prerelease.length === 0 ? 1 : -1;
  }
  const length = Math.max(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < length; i++) {
    const left = a.prerelease[i];
    const right = b.prerelease[i];
    if (left === undefined) return -1;
    if (right === undefined) return 1;
    const order = compareIdentifiers(left, right);
    if (order !== 0) return order < 0 ? -1 : 1;
  }
  return 0;
}

/** Precedence of two version strings: -1, 0 or 1. Throws on a string that is not semver. */
export function compareSemver(a: string, b: string): -1 | 0 | 1 {
  const left = parseSemver(a);
  const right = parseSemver(b);
  if (!left) throw new TypeError(`"${a}" is not a semantic version (expected MAJOR.MINOR.PATCH).`);
  if (!right) throw new TypeError(`"${b}" is not a semantic version (expected MAJOR.MINOR.PATCH).`);
  return compareParsed(left, right);
}
