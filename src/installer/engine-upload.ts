import { join } from 'node:path';
import { CliError } from '../errors.js';
import { buildHandlers, type HandlerArtifact } from '../packaging/build.js';
import { uploadHandlerArtifact, uploadStarterTemplates } from '../packaging/upload.js';
import { readStarterTemplatesFromDirectory, type StarterTemplate } from '../../functions/lib/template-seeding.js';
import type { Uploaded } from './install-plan.js';
import type { InstallSession } from './install-session.js';

/**
 * The engine's code and starter templates on their way to the bucket. Packaging needs no
 * AWS, so it starts first and runs while the person answers and AWS answers; the uploads
 * wait for the bucket.
 */

export interface PendingPackages {
  artifacts: Promise<HandlerArtifact[]>;
  starters: Promise<StarterTemplate[]>;
}

/** Starts building the handler zips and reading the starter templates shipped with the package. */
export function startPackaging(root: string, build: (root: string) => Promise<HandlerArtifact[]> = buildHandlers): PendingPackages {
  const artifacts = build(root);
  const starters = readStarterTemplatesFromDirectory(join(root, 'starter-templates'));
  // Awaited later; a failure then becomes INS016, not an unhandled rejection now.
  artifacts.catch(() => undefined);
  starters.catch(() => undefined);
  return { artifacts, starters };
}

/** Waits for the packages and uploads what the bucket does not have yet (keys are content hashes). */
export async function uploadEngine(session: InstallSession, bucket: string, pending: PendingPackages): Promise<Uploaded> {
  const { ui, aws } = session;
  session.step('build handlers');
  let artifacts: HandlerArtifact[];
  let templates: StarterTemplate[];
  try {
    [artifacts, templates] = await Promise.all([pending.artifacts, pending.starters]);
  } catch (error) {
    throw new CliError('INS016', `Packaging the engine failed: ${(error as Error).message}`, 'Reinstall the package (npm install sesmailengine) or, in a clone, run npm ci && npm run build.', { cause: error });
  }
  for (const a of artifacts) session.step(`artifact ${a.name} ${a.key} ${a.zip.length} bytes`);
  session.step('upload artifacts');
  const uploads = await Promise.all(artifacts.map((a) => uploadHandlerArtifact(aws.s3, bucket, a)));
  const starterUpload = await uploadStarterTemplates(aws.s3, bucket, templates);
  const uploaded = uploads.filter((u) => u.uploaded).length;
  ui.ok(
    `Packaged ${artifacts.length} handlers (${uploaded} uploaded, ${artifacts.length - uploaded} unchanged) and ${templates.length} starter templates${starterUpload.uploaded ? '' : ' (unchanged)'}.`,
  );
  return {
    codeKeys: Object.fromEntries(artifacts.map((a) => [a.parameter, a.key])),
    starterTemplatesPrefix: starterUpload.prefix,
  };
}
