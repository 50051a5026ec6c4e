/** loam-node's command line: a missing or bad flag stops it at once with a message that names the flag. */
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { controlPlane } from '../setup.js';

async function runNode(args: string[], env: Record<string, string> = {}): Promise<{ exitCode?: number; stderr: string }> {
  const r = await execa('node', ['--import', 'tsx', 'src/cmd/loam-node.ts', ...args], { reject: false, timeout: 30_000, env: { LOAM_NODE_NAME: '', ...env } });
  return { exitCode: r.exitCode, stderr: r.stderr };
}

describe('loam-node command line', function () {
  this.timeout(60_000);

  it('exits 1 without a node name, saying which flag is missing', async function () {
    const r = await runNode(['--kubeconfig', controlPlane().kubeconfigPath]);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /--node-name \(or LOAM_NODE_NAME\) is required/);
    assert.match(r.stderr.trim().split('\n').at(-1)!, /^\{.*"level":"error".*\}$/, 'logs are JSON lines');
  });

  it('exits 1 on a bad --resync-seconds, also when it comes from LOAM_RESYNC_SECONDS', async function () {
    const r = await runNode(['--node-name', 'n1', '--kubeconfig', controlPlane().kubeconfigPath], { LOAM_RESYNC_SECONDS: 'soon' });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /--resync-seconds must be a positive number of seconds, got \\"soon\\"/);
  });
});
