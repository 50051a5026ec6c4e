/**
 * The rules for the paths the CO hands the node service: absolute, no `..`, under the kubelet
 * directory (after symlinks are resolved), and the path itself never a symlink. A temporary folder
 * plays the kubelet directory, with real symlinks in it.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { confinedPath, defaultKubeletDir, lexicalPathProblem } from '../../../src/csi/node-paths.js';
import { csiRefusal } from './refusal.js';

const refused = (pattern: RegExp): ((err: unknown) => boolean) => csiRefusal(status.INVALID_ARGUMENT, pattern);

describe('csi node paths: confined to the kubelet directory', () => {
  it('lexical rules: absolute, no "..", no NUL, not too long, strictly under the kubelet dir', () => {
    const k = '/var/lib/kubelet';
    assert.equal(defaultKubeletDir, '/var/lib/kubelet');
    assert.equal(lexicalPathProblem('/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv/mount', k), undefined);
    assert.equal(lexicalPathProblem('/var/lib/kubelet//plugins/./x/', k), undefined, 'doubled slashes, "." and a trailing slash are only spelling');
    assert.match(lexicalPathProblem('var/lib/kubelet/pods/x', k)!, /must be an absolute path/);
    assert.match(lexicalPathProblem('/var/lib/kubelet/pods/../../../../etc', k)!, /must not contain "\.\."/);
    assert.match(lexicalPathProblem('/var/lib/kubelet/..', k)!, /must not contain "\.\."/);
    assert.match(lexicalPathProblem('/var/lib/kubelet', k)!, /must be inside the kubelet directory/, 'the kubelet dir itself is not a volume path');
    assert.match(lexicalPathProblem('/var/lib/kubelet-evil/pods/x', k)!, /must be inside the kubelet directory \/var\/lib\/kubelet/, 'a sibling with the same prefix is outside');
    assert.match(lexicalPathProblem('/etc/passwd', k)!, /must be inside the kubelet directory/);
    assert.match(lexicalPathProblem('/var/lib/kubelet/pods/a\0b', k)!, /NUL/);
    assert.match(lexicalPathProblem(`/var/lib/kubelet/${'x'.repeat(5000)}`, k)!, /longer than 4096/);
    assert.equal(lexicalPathProblem('/srv/kubelet/pods/x', '/srv/kubelet/'), undefined, 'a kubelet dir given with a trailing slash');
  });

  describe('with symlinks on disk', () => {
    let root = '';
    let kubelet = '';
    before(async () => {
      root = await realpath(await mkdtemp(path.join(os.tmpdir(), 'loam-paths-')));
      kubelet = path.join(root, 'kubelet');
      await mkdir(path.join(kubelet, 'pods', 'u1'), { recursive: true });
      await mkdir(path.join(root, 'outside'), { recursive: true });
      await writeFile(path.join(root, 'outside', 'secret'), 'x');
      await symlink(path.join(root, 'outside'), path.join(kubelet, 'pods', 'escape'));
      await mkdir(path.join(kubelet, 'plugins'), { recursive: true });
      await symlink(path.join(kubelet, 'plugins'), path.join(kubelet, 'pods', 'inside-link'));
      await symlink(path.join(root, 'outside', 'secret'), path.join(kubelet, 'pods', 'u1', 'target-link'));
      // A kubelet directory that is itself a symlink (e.g. /var/lib/kubelet -> /data/kubelet).
      await symlink(kubelet, path.join(root, 'kubelet-link'));
    });
    after(async () => rm(root, { recursive: true, force: true }));

    it('resolves to the real path under the kubelet dir, also for paths that do not exist yet', async () => {
      assert.equal(await confinedPath('NodePublishVolume', 'target_path', path.join(kubelet, 'pods', 'u1', 'new', 'mount'), kubelet), path.join(kubelet, 'pods', 'u1', 'new', 'mount'));
      assert.equal(await confinedPath('NodePublishVolume', 'target_path', path.join(kubelet, 'pods', 'inside-link', 'x'), kubelet), path.join(kubelet, 'plugins', 'x'), 'a link that stays inside is followed');
      assert.equal(await confinedPath('NodePublishVolume', 'target_path', path.join(root, 'kubelet-link', 'pods', 'u1', 'm'), path.join(root, 'kubelet-link')), path.join(kubelet, 'pods', 'u1', 'm'), 'a symlinked kubelet dir is compared by its real path');
    });

    it('refuses a symlink that leads out of the kubelet dir, and a path that is itself a symlink', async () => {
      await assert.rejects(confinedPath('NodeUnpublishVolume', 'target_path', path.join(kubelet, 'pods', 'escape', 'secret'), kubelet), refused(/NodeUnpublishVolume: target_path .* leads outside the kubelet directory .* through a symbolic link/));
      await assert.rejects(confinedPath('NodeStageVolume', 'staging_target_path', path.join(kubelet, 'pods', 'escape', 'new', 'dir'), kubelet), refused(/leads outside the kubelet directory/));
      await assert.rejects(confinedPath('NodeUnpublishVolume', 'target_path', path.join(kubelet, 'pods', 'u1', 'target-link'), kubelet), refused(/target_path .* is a symbolic link/));
      await assert.rejects(confinedPath('NodeUnpublishVolume', 'target_path', '/etc/passwd', kubelet), refused(/^NodeUnpublishVolume: target_path "\/etc\/passwd" must be inside the kubelet directory/));
    });
  });
});
