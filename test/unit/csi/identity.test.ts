import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createIdentityService } from '../../../src/csi/identity.js';
import type { CallContext } from '../../../src/csi/interceptor.js';

const ctx = {} as CallContext;

describe('csi Identity', () => {
  it('names the driver lvm.loam.io with the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.deepEqual(await createIdentityService({ ready: () => true }).GetPluginInfo!({}, ctx), { name: 'lvm.loam.io', vendor_version: pkg.version });
  });

  it('advertises the controller service, topology and online expansion', async () => {
    const caps = await createIdentityService({ ready: () => true }).GetPluginCapabilities!({}, ctx);
    assert.deepEqual(caps.capabilities, [{ service: { type: 'CONTROLLER_SERVICE' } }, { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } }, { volume_expansion: { type: 'ONLINE' } }]);
    const nodeOnly = await createIdentityService({ ready: () => true, controller: false }).GetPluginCapabilities!({}, ctx);
    assert.ok(!JSON.stringify(nodeOnly).includes('CONTROLLER_SERVICE'));
  });

  it('is ready only once its caches are', async () => {
    let synced = false;
    const identity = createIdentityService({ ready: () => synced });
    assert.deepEqual(await identity.Probe!({}, ctx), { ready: { value: false } });
    synced = true;
    assert.deepEqual(await identity.Probe!({}, ctx), { ready: { value: true } });
  });
});
