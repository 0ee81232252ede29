import { compareParsed, parseSemver } from './semver.js';

/**
 * What the template seeder does with one starter template, given what is installed.
 * Customised templates survive: an installed template is only replaced by a strictly
 * newer starter version, and one whose version cannot be read is left alone.
 */

export type SeedAction = 'install' | 'update' | 'skip';

/** The installed template as the seeder finds it. */
export type InstalledTemplate =
  /** No `metadata.json` under `templates/<name>/` (never installed, or an upload that did not finish). */
  | { kind: 'absent' }
  /** `metadata.json` exists; `version` is its `version` field as found (any type). */
  | { kind: 'present'; version: unknown };

export interface SeedDecision {
  action: SeedAction;
  reason: string;
}

export function decideSeedAction(starterVersion: string, installed: InstalledTemplate): SeedDecision {
  const starter = parseSemver(starterVersion);
  if (!starter) throw new TypeError(`Starter template version "${starterVersion}" is not a semantic version.`);
  if (installed.kind === 'absent') return { action: 'install', reason: 'not installed' };
  const current = parseSemver(installed.version);
  if (!current) {
    return { action: 'skip', reason: 'installed metadata.json has no valid version; left unchanged' };
  }
  const order = compareParsed(current, starter);
  if (order < 0) return { action: 'update', reason: `installed ${String(installed.version)} is older than ${starterVersion}` };
  if (order === 0) return { action: 'skip', reason: `installed ${String(installed.version)} is current` };
  return { action: 'skip', reason: `installed ${String(installed.version)} is newer than ${starterVersion} (customised)` };
}
