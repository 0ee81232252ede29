import { compareParsed, parseSemver } from './semver.js';

/**
 * What the template seeder does with one starter template, given what is installed.
 * Customised templates survive: an installed template is only replaced by a strictly
 * newer starter version. One without a `version` (as the original product's templates often
 * are, since metadata.json needs only `subject`) is taken as the user's own and never
 * overwritten; one whose version is not semver is left alone too.
 */

export type SeedAction = 'install' | 'update' | 'skip';

/** The installed template as the seeder finds it. */
export type InstalledTemplate =
  /** No `metadata.json` under `templates/<name>/` (never installed, or an upload that did not finish). */
  | { kind: 'absent' }
  /** `metadata.json` exists; `version` is its `version` field as found (any type). */
  | { kind: 'present'; version: unknown; unreadable?: false }
  /** `metadata.json` exists but is not JSON, so its version cannot be read. */
  | { kind: 'present'; version: undefined; unreadable: true };

export interface SeedDecision {
  action: SeedAction;
  reason: string;
}

/** The reason given for an installed template whose metadata.json has no `version`. */
export const UNVERSIONED_REASON = 'installed metadata.json has no version: treated as customised, never overwritten';

export function decideSeedAction(starterVersion: string, installed: InstalledTemplate): SeedDecision {
  const starter = parseSemver(starterVersion);
  if (!starter) throw new TypeError(`Starter template version "${starterVersion}" is not a semantic version.`);
  if (installed.kind === 'absent') return { action: 'install', reason: 'not installed' };
  if (installed.unreadable) return { action: 'skip', reason: 'installed metadata.json is not valid JSON; left unchanged' };
  if (installed.version === undefined || installed.version === null) {
    return { action: 'skip', reason: UNVERSIONED_REASON };
  }
  const current = parseSemver(installed.version);
  if (!current) {
    return { action: 'skip', reason: `installed version ${JSON.stringify(installed.version)} is not a semantic version; left unchanged` };
  }
  const order = compareParsed(current, starter);
  if (order < 0) return { action: 'update', reason: `installed ${String(installed.version)} is older than ${starterVersion}` };
  if (order === 0) return { action: 'skip', reason: `installed ${String(installed.version)} is current` };
  return { action: 'skip', reason: `installed ${String(installed.version)} is newer than ${starterVersion} (customised)` };
}
