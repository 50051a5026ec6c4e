import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { validateLocalDiskClaim } from '../../../src/api/index.js';
import { demoClaim, exampleClaimPath } from '../../../src/demo/claim.js';

describe('example LocalDiskClaims (examples/)', () => {
  const dir = path.dirname(exampleClaimPath);

  it('are all valid claims, as the API server and the claim binder check them', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 2, `examples in ${dir}`);
    for (const f of files) assert.deepEqual(validateLocalDiskClaim(YAML.parse(readFileSync(path.join(dir, f), 'utf8'))), [], f);
  });

  it('the demo points the example at its node and only its own loop devices', async () => {
    const claim = await demoClaim(exampleClaimPath, 'demo-node', ['/dev/loop7', '/dev/loop8']);
    assert.equal(claim.spec.nodeName, 'demo-node');
    assert.deepEqual(claim.spec.description?.devicePaths, ['/dev/loop7', '/dev/loop8']);
    assert.equal(claim.spec.description?.mediaClass, 'SSD', 'what the example asks for is kept');
  });

  it('refuses device paths that would make the claim invalid, naming the problem', async () => {
    await assert.rejects(demoClaim(exampleClaimPath, 'demo-node', ['loop7']), /is not a valid LocalDiskClaim: spec\.description\.devicePaths\[0\]: device paths must be absolute paths under \/dev\//);
  });
});
