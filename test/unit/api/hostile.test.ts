import assert from 'node:assert/strict';
import { validateObject } from '../../../src/api/index.js';
import { hostileCases } from './hostile-objects.js';
import { validObject } from './objects.js';

describe('api validators refuse hostile objects (names, pool names, paths, huge values)', () => {
  for (const c of hostileCases) {
    it(`${c.kind}: ${c.name}`, () => {
      const obj = validObject('hostile', c.kind);
      if (c.create) c.create(obj);
      else Object.assign(obj, { status: { ...obj.status, ...(c.status as { status: object }).status } });
      const problems = validateObject(c.kind, obj);
      assert.ok(problems.some((p) => c.ajv.test(p)), `no problem matches ${c.ajv}: ${JSON.stringify(problems)}`);
    });
  }

  it('accept every Loam volume group, a pvc-<uid> volume and an FQDN node name', () => {
    for (const pool of ['loam-hdd', 'loam-ssd', 'loam-nvme']) {
      const replica = validObject('ok', 'LocalVolumeReplica');
      replica.spec.poolName = pool;
      replica.spec.volumeName = 'pvc-0c8e1a52-5a0e-4e7e-9d0c-6b7f5f0e3b11';
      replica.spec.nodeName = `worker-1.${'rack-a.'.repeat(30)}example.internal`;
      assert.deepEqual(validateObject('LocalVolumeReplica', replica), []);
    }
  });
});
