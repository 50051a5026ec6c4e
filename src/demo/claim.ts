/** The demo's claim: an example of examples/, pointed at the demo's node and loop devices. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { validateLocalDiskClaim, type LocalDiskClaim } from '../api/index.js';

export const exampleClaimPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'localdiskclaim-ssd.yaml');

/**
 * Reads the example claim and sets its node and device paths, so the demo can only ever claim the
 * loop devices it made (never a disk of the machine it runs on). Throws if the result is invalid.
 */
export async function demoClaim(file: string, nodeName: string, devicePaths: string[]): Promise<LocalDiskClaim> {
  const claim = YAML.parse(await readFile(file, 'utf8')) as LocalDiskClaim;
  claim.spec = { ...claim.spec, nodeName, description: { ...claim.spec?.description, devicePaths } };
  const problems = validateLocalDiskClaim(claim);
  if (problems.length > 0) throw new Error(`${file} is not a valid LocalDiskClaim: ${problems.join('; ')}`);
  return claim;
}
