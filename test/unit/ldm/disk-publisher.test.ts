/**
 * DiskPublisher's decisions with the API server replaced by recorders (a pure-logic seam; the real
 * writes are covered by test/integration/ldm-node): what it applies, what it patches, and that an
 * invalid object is reported and skipped.
 */
import assert from 'node:assert/strict';
import type { LocalDisk } from '../../../src/api/index.js';
import winston from 'winston';
import { ObjectCache, type EventInput, type EventRecorder, type Informer, type KubeClients } from '../../../src/kube/index.js';
import type { DiskInventory, DiskRecord } from '../../../src/ldm/disk-inventory.js';
import { DiskPublisher } from '../../../src/ldm/disk-publisher.js';

interface Call {
  kind: 'apply' | 'status';
  body: Record<string, unknown>;
  query?: Record<string, unknown>;
}

function harness(objects: LocalDisk[], records: DiskRecord[]): { publisher: DiskPublisher; calls: Call[]; events: EventInput[] } {
  const calls: Call[] = [];
  const events: EventInput[] = [];
  const cache = new ObjectCache<LocalDisk>({});
  for (const o of objects) cache.upsert(o);
  const informer = { on: () => () => undefined, cache } as unknown as Informer<LocalDisk>;
  const clients = {
    rest: {
      request: async (_method: string, _path: string, opts: { body: Record<string, unknown>; query: Record<string, unknown> }) => {
        calls.push({ kind: 'apply', body: opts.body, query: opts.query });
        return { ...opts.body, metadata: { ...(opts.body.metadata as object), resourceVersion: '2' } };
      },
    },
    customObjects: {
      patchClusterCustomObjectStatus: async (args: { body: Record<string, unknown> }) => {
        calls.push({ kind: 'status', body: args.body });
        return {};
      },
    },
  } as unknown as KubeClients;
  const recorder = { record: async (_o: unknown, input: EventInput) => void events.push(input) } as unknown as EventRecorder;
  const inventory = { records: new Map(records.map((r) => [r.name, r])) } as unknown as DiskInventory;
  const publisher = new DiskPublisher({ clients, nodeName: 'n1', inventory, informer, recorder, logger: winston.createLogger({ silent: true }), lastSeenRefreshMs: 60_000 });
  return { publisher, calls, events };
}

const rec: DiskRecord = {
  name: 'n1-aaaaaaaaaaaa', present: true, sysname: 'loop3',
  spec: { nodeName: 'n1', devicePath: '/dev/loop3', identity: { serial: '/tmp/a.img', model: 'loop' }, capacityBytes: 1048576, mediaClass: 'SSD' },
  facts: { partitions: [], holders: [], mounts: [], activeSwap: false }, verdict: { safe: true }, health: 'Unknown', smartReadAt: 0, seenAt: Date.now(),
};

async function settle(publisher: DiskPublisher, calls: Call[], count: number): Promise<void> {
  const deadline = Date.now() + 3000;
  while (calls.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await publisher.stop();
}

describe('DiskPublisher', function () {
  it('applies only the discovery fields and the node label as loam-node, then writes status', async function () {
    const { publisher, calls } = harness([], [rec]);
    publisher.start();
    publisher.enqueue(rec.name);
    await settle(publisher, calls, 2);
    assert.deepEqual(calls.map((c) => c.kind), ['apply', 'status']);
    const body = calls[0]!.body as { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.spec).sort(), ['capacityBytes', 'devicePath', 'identity', 'mediaClass', 'nodeName']);
    assert.deepEqual(body.metadata.labels, { 'loam.io/node': 'n1' });
    assert.equal(calls[0]!.query?.fieldManager, 'loam-node');
    const status = (calls[1]!.body as { status: Record<string, unknown>; metadata: { resourceVersion: string } });
    assert.equal(status.status.state, 'Available');
    assert.equal(status.status.reason, null, 'an old reason is cleared');
    assert.equal(status.metadata.resourceVersion, '2', 'status is written under the applied object\'s resourceVersion');
  });

  it('reports an object that fails validation in status.message and an event, and acts on nothing else', async function () {
    const invalid = {
      apiVersion: 'loam.io/v1alpha1', kind: 'LocalDisk', metadata: { name: rec.name, resourceVersion: '7' },
      spec: { nodeName: 'n1', devicePath: 'loop3', capacityBytes: 1048576, mediaClass: 'SSD' },
    } as LocalDisk;
    const { publisher, calls, events } = harness([invalid], [rec]);
    publisher.start();
    publisher.enqueue(rec.name);
    await settle(publisher, calls, 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(calls.map((c) => c.kind), ['status'], 'no apply of an invalid object');
    const message = (calls[0]!.body as { status: { message: string } }).status.message;
    assert.equal(message, 'not processed: the object is invalid: spec.devicePath: device paths must be absolute paths under /dev/, e.g. /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4');
    assert.deepEqual(events.map((e) => [e.type, e.reason]), [['Warning', 'InvalidObject']]);
  });

  it('records a HealthChanged event when SMART health changes', async function () {
    const stored = {
      apiVersion: 'loam.io/v1alpha1', kind: 'LocalDisk', metadata: { name: rec.name, resourceVersion: '9', labels: { 'loam.io/node': 'n1' } },
      spec: rec.spec, status: { state: 'Available', health: 'Healthy' },
    } as LocalDisk;
    const { publisher, calls, events } = harness([stored], [{ ...rec, health: 'Failing', smart: { mediaErrors: 12, checkedAt: new Date().toISOString() } }]);
    publisher.start();
    publisher.enqueue(rec.name);
    await settle(publisher, calls, 1);
    assert.deepEqual(calls.map((c) => c.kind), ['status'], 'spec is current: no apply');
    const status = (calls[0]!.body as { status: Record<string, unknown> }).status;
    assert.equal(status.health, 'Failing');
    assert.deepEqual(status.smart, { mediaErrors: 12, checkedAt: (status.smart as { checkedAt: string }).checkedAt });
    assert.deepEqual(events.map((e) => [e.type, e.reason, e.note]), [['Warning', 'HealthChanged', 'SMART health changed from Healthy to Failing']]);
  });
});
