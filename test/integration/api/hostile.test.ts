/* eslint-disable @typescript-eslint/no-explicit-any -- the cases break typed objects on purpose */
import assert from 'node:assert/strict';
import { isNotFound } from '../../../src/kube/index.js';
import { hostileCases } from '../../unit/api/hostile-objects.js';
import { validObject } from '../../unit/api/objects.js';
import { refusal, useLoamTestClient } from './client.js';

/**
 * Hostile custom resources through the real kube-apiserver: each is refused with a message that
 * says what to fix, and nothing of it is stored.
 */
describe('api: the kube-apiserver refuses hostile custom resources (names, pool names, paths, huge values)', function () {
  this.timeout(60_000);
  const client = useLoamTestClient();

  hostileCases.forEach((c, i) => {
    it(`${c.kind}: ${c.name}`, async () => {
      const obj: any = validObject(`hostile${i}`, c.kind);
      if (c.create) {
        c.create(obj);
        assert.match(await refusal(client().create(obj)), c.apiServer);
        // Nothing was created under that name.
        await assert.rejects(client().get(c.kind, obj.metadata.name as string), (err) => isNotFound(err));
        assert.deepEqual((await client().list(c.kind)).filter((o) => o.metadata.name === obj.metadata.name), []);
        return;
      }
      await client().createWithStatus(obj);
      const name = obj.metadata.name as string;
      assert.match(await refusal(client().patchStatus(c.kind, name, c.status!)), c.apiServer);
      assert.deepEqual((await client().get(c.kind, name)).status, obj.status, 'nothing of the refused status was stored');
    });
  });
});
