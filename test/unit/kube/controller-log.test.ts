/** A reconcile the API server refuses (422, 403) is logged as a refusal, not as a passing failure. */
import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { Controller } from '../../../src/kube/controller.js';
import { wrapError } from '../../../src/kube/errors.js';
import { capturingLogger } from './log-capture.js';

async function logsOf(err: unknown): Promise<Array<Record<string, unknown>>> {
  const { logger, lines } = capturingLogger();
  let calls = 0;
  const controller = new Controller({ name: 't', logger, reconcile: async () => { calls++; throw err; } });
  controller.start();
  controller.enqueue('k');
  for (let i = 0; i < 100 && calls === 0; i++) await new Promise((r) => setTimeout(r, 5));
  await controller.stop({ abort: true });
  return lines.filter((l) => l.key === 'k');
}

describe('kube controller logs', () => {
  it('names a 422 refusal and what to check, at error level', async () => {
    const status = JSON.stringify({ kind: 'Status', code: 422, reason: 'Invalid', message: 'LocalDisk "d" is invalid: metadata.labels: Invalid value: "x": must be no more than 63 characters' });
    const [line] = await logsOf(wrapError('server-side apply of LocalDisk d failed', new ApiException(422, 'PATCH', status, {})));
    assert.equal(line?.level, 'error');
    assert.match(String(line?.message), /reconcile refused by the API server: the object is invalid/);
    assert.equal(line?.code, 422);
    assert.match(String(line?.error), /must be no more than 63 characters/);
  });

  it('keeps a transient failure a warning that will be retried', async () => {
    const [line] = await logsOf(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }));
    assert.equal(line?.level, 'warn');
    assert.match(String(line?.message), /reconcile failed; will retry with backoff/);
  });
});
