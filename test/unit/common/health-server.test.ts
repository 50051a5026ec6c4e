import assert from 'node:assert/strict';
import { parseHostPort } from '../../../src/common/host-port.js';
import { HealthServer } from '../../../src/common/health-server.js';
import { headerComment } from '../../../src/common/usage.js';

describe('parseHostPort', () => {
  it('splits host:port; an empty host is loopback; brackets come off an IPv6 host', () => {
    assert.deepEqual(parseHostPort('0.0.0.0:9808', 'health-listen'), { host: '0.0.0.0', port: 9808 });
    assert.deepEqual(parseHostPort(':9808', 'health-listen'), { host: '127.0.0.1', port: 9808 });
    assert.deepEqual(parseHostPort('[::]:9808', 'health-listen'), { host: '::', port: 9808 });
  });

  it('names the flag when the value is not host:port', () => {
    assert.throws(() => parseHostPort('9808', 'health-listen'), /--health-listen must be host:port, got "9808"/);
    assert.throws(() => parseHostPort('a:99999', 'listen'), /--listen must be host:port/);
  });
});

describe('HealthServer', () => {
  it('is live and ready with no checks', async () => {
    const h = new HealthServer();
    assert.deepEqual(await h.evaluate('live'), { ok: true });
    assert.deepEqual(await h.evaluate('ready'), { ok: true });
  });

  it('readiness includes liveness; the first failing check is named with its reason, on one line', async () => {
    let alive: string | undefined;
    let synced: string | undefined = 'caches not synced';
    const h = new HealthServer().ready('caches', () => synced).live('csi', async () => alive);
    assert.deepEqual(await h.evaluate('live'), { ok: true });
    assert.deepEqual(await h.evaluate('ready'), { ok: false, reason: 'caches: caches not synced' });
    alive = 'Probe failed:\n  DEADLINE_EXCEEDED';
    assert.deepEqual(await h.evaluate('live'), { ok: false, reason: 'csi: Probe failed: DEADLINE_EXCEEDED' });
    assert.deepEqual(await h.evaluate('ready'), { ok: false, reason: 'csi: Probe failed: DEADLINE_EXCEEDED' }, 'liveness first');
    alive = undefined;
    synced = undefined;
    assert.deepEqual(await h.evaluate('ready'), { ok: true });
  });

  it('a check that throws or hangs fails with its message or the bound', async () => {
    const h = new HealthServer({ checkTimeoutMs: 50 }).live('throws', () => { throw new Error('boom'); });
    assert.deepEqual(await h.evaluate('live'), { ok: false, reason: 'throws: boom' });
    const hang = new HealthServer({ checkTimeoutMs: 50 }).live('wedged', () => new Promise<undefined>(() => undefined));
    assert.deepEqual(await hang.evaluate('live'), { ok: false, reason: 'wedged: no answer within 50 ms' });
  });

  it('serves 200 ok, 503 with the reason, 404 elsewhere', async () => {
    let reason: string | undefined = 'not registered with the kubelet';
    const h = new HealthServer().ready('kubelet-registration', () => reason);
    const { port } = await h.listen('127.0.0.1:0');
    try {
      const get = async (path: string): Promise<[number, string]> => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return [res.status, await res.text()];
      };
      assert.deepEqual(await get('/healthz'), [200, 'ok']);
      assert.deepEqual(await get('/readyz'), [503, 'kubelet-registration: not registered with the kubelet']);
      reason = undefined;
      assert.deepEqual(await get('/readyz?verbose'), [200, 'ok']);
      assert.equal((await get('/metrics'))[0], 404);
    } finally {
      await h.close();
    }
  });
});

describe('headerComment', () => {
  it('is the first block comment without its markers', () => {
    const src = '#!/usr/bin/env node\n/**\n * loam-x: does things.\n *\n *   loam-x [--flag F]\n */\nimport x from "y";\n/** later */\n';
    assert.equal(headerComment(src), 'loam-x: does things.\n\n  loam-x [--flag F]\n');
  });
});
