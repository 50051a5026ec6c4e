import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { createIdentityService } from '../../../src/csi/identity.js';
import { CsiServer } from '../../../src/csi/server.js';
import { CsiTestClient, grpcError, socketDir } from './support.js';

/** Leaves a socket file behind as a killed process does. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

describe('csi server (unix socket, Identity)', function () {
  this.timeout(30_000);
  let dirs: Awaited<ReturnType<typeof socketDir>>;
  beforeEach(async () => {
    dirs = await socketDir();
  });
  afterEach(async () => dirs.remove());

  it('serves Identity on a 0600 socket, replacing a stale socket file, and removes the socket on stop', async () => {
    const path = join(dirs.dir, 'csi.sock');
    await staleSocket(path);
    assert.ok((await lstat(path)).isSocket(), 'the stale socket is there before start');
    let ready = false;
    const server = new CsiServer({ endpoint: `unix://${path}` }).addIdentity(createIdentityService({ ready: () => ready }));
    await server.start();
    const client = new CsiTestClient(path);
    try {
      assert.equal((await lstat(path)).mode & 0o777, 0o600);
      const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
      assert.deepEqual(await client.call('Identity', 'GetPluginInfo', {}), { name: 'lvm.loam.io', vendor_version: pkg.version, manifest: {} });
      const caps = await client.call<{ capabilities: unknown[] }>('Identity', 'GetPluginCapabilities', {});
      assert.deepEqual(caps.capabilities, [
        { service: { type: 'CONTROLLER_SERVICE' }, type: 'service' },
        { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' }, type: 'service' },
        { volume_expansion: { type: 'ONLINE' }, type: 'volume_expansion' },
      ]);
      assert.deepEqual(await client.call('Identity', 'Probe', {}), { ready: { value: false } });
      ready = true;
      assert.deepEqual(await client.call('Identity', 'Probe', {}), { ready: { value: true } });
      await assert.rejects(client.call('Node', 'NodeGetInfo', {}), grpcError(status.UNIMPLEMENTED, /.*/), 'a service not plugged in is UNIMPLEMENTED');
      await assert.rejects(client.raw('/csi.v1.Identity/GetPluginInfo', Buffer.from([0xff, 0xff, 0xff, 0xff])), (err: { code: number }) => err.code !== status.OK);
      assert.equal((await client.call<{ name: string }>('Identity', 'GetPluginInfo', {})).name, 'lvm.loam.io', 'still serving after a malformed message');
    } finally {
      client.close();
      await server.stop();
    }
    await assert.rejects(lstat(path), /ENOENT/, 'the socket is removed on stop');
  });

  it('honours another socket mode, and refuses to replace a file that is not a socket', async () => {
    const path = join(dirs.dir, 'csi.sock');
    const other = new CsiServer({ endpoint: path, socketMode: 0o660 }).addIdentity(createIdentityService({ ready: () => true }));
    await other.start();
    assert.equal((await lstat(path)).mode & 0o777, 0o660);
    await other.stop();

    const precious = join(dirs.dir, 'data');
    await writeFile(precious, 'keep me');
    const server = new CsiServer({ endpoint: `unix://${precious}` }).addIdentity(createIdentityService({ ready: () => true }));
    await assert.rejects(server.start(), /exists and is not a socket; refusing to replace it/);
    assert.equal(await readFile(precious, 'utf8'), 'keep me');
    assert.throws(() => new CsiServer({ endpoint: 'unix://relative/csi.sock' }), /must be an absolute unix socket path/);
  });
});
