import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadKubeConfig } from '../../../src/kube/client.js';

const kubeconfig = (server: string): string => `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: { server: ${server} }
- name: two
  cluster: { server: https://two.example:6443 }
users:
- name: u
  user: { token: t }
contexts:
- name: one
  context: { cluster: one, user: u }
- name: two
  context: { cluster: two, user: u }
current-context: one
`;

describe('kube client factory', () => {
  let dir: string;
  const saved = process.env.KUBECONFIG;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'loam-kube-client-'));
    await writeFile(path.join(dir, 'a'), kubeconfig('https://a.example:6443'));
    await writeFile(path.join(dir, 'b'), kubeconfig('https://b.example:6443'));
  });

  after(async () => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('prefers an explicit file, then KUBECONFIG, and can switch context', () => {
    process.env.KUBECONFIG = path.join(dir, 'b');
    assert.equal(loadKubeConfig({ kubeconfigPath: path.join(dir, 'a') }).getCurrentCluster()?.server, 'https://a.example:6443');
    assert.equal(loadKubeConfig().getCurrentCluster()?.server, 'https://b.example:6443');
    assert.equal(loadKubeConfig({ context: 'two' }).getCurrentCluster()?.server, 'https://two.example:6443');
  });

  it('says which source failed, with the cause', () => {
    assert.throws(() => loadKubeConfig({ kubeconfigPath: path.join(dir, 'missing') }), (err: Error) => /cannot load a kubeconfig .*missing/.test(err.message) && err.cause !== undefined);
  });
});
