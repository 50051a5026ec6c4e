/**
 * Bad input against both CSI sockets, as a seeded fuzz run: malformed and hostile requests (fields
 * missing, of the wrong wire type, empty, 100 kB long or over the message limit; path tricks;
 * unknown and impossible volume ids; unsupported capabilities and parameters) go to the Controller
 * socket (the real API server behind it) and the Node socket (the real API server; no LV is needed
 * for a refusal). Each request is built with the answer it must get, so every call is checked for
 * its exact gRPC code; afterwards nothing has changed: no LocalVolume or replica was written,
 * nothing is mounted, every file in and beside the kubelet directory is still there with its bytes,
 * and both servers still answer.
 *
 * Reproduce a run: LOAM_FUZZ_SEED=<seed printed> [LOAM_FUZZ_REQUESTS=<n>] npx mocha --config
 * test/integration/.mocharc.json test/integration/csi-node/fuzz.test.ts
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, lstat, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import * as grpc from '@grpc/grpc-js';
import { loamResources } from '../../../src/api/index.js';
import { serveCsiEndpoint } from '../../../src/csi/endpoint.js';
import { createNodeService } from '../../../src/csi/node-service.js';
import { resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { CsiTestClient, startControllerEndpoint, waitProbeReady, type Service } from '../csi-controller/support.js';
import { clients, uniqueNodeName } from '../ldm-node/support.js';
import { readMounts } from '../../../src/csi/node-mount.js';
import { Scratch } from './support.js';

/** mulberry32: small, seedable, the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

/**
 * One request and the code it must get. `raw`: bytes sent as they are, instead of a message.
 * `ownConnection`: sent on a connection of its own (a message over the size limit stalls the
 * HTTP/2 connection that carried it for a while: the hostile client's own, not the next caller's).
 */
interface Case { service: Service; method: string; request?: object; raw?: Buffer; expect: status; ownConnection?: boolean }

const IA = status.INVALID_ARGUMENT;
const modes = ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER'] as const;
const multiNodeModes = ['MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER'] as const;

/** Strings an attacker or a broken client sends where an id or a name goes (never a valid one). */
function hostileString(rng: Rng): string {
  return pick(rng, [
    () => '../../../../dev/sda',
    () => '/dev/sda',
    () => 'pvc-\u0000nul',
    () => 'PVC-Upper',
    () => '-rf',
    () => '$(reboot)',
    () => '`id`',
    () => 'a/b',
    () => '\u202egnp.exe',
    () => '\ud83d\udca3',
    () => ' ',
    () => `pvc-${'a'.repeat(64)}`,
    () => 'x'.repeat(1 + Math.floor(rng() * 100_000)),
  ])();
}

/** A volume id no volume has: well-formed (reaches the API server) or impossible. */
function unknownVolumeId(rng: Rng): string {
  return rng() < 0.5 ? `pvc-fuzz-${Math.floor(rng() * 1e12).toString(36)}` : hostileString(rng);
}

/** Makers of cases, each drawing its variations from the run's generator; `k` is the kubelet dir, `out` a folder beside it. */
function makeCases(k: string, out: string): Array<(r: Rng) => Case> {
  const mountCap = (r: Rng): object => ({ mount: { fs_type: pick(r, ['ext4', 'xfs', '']), mount_flags: [] }, access_mode: { mode: pick(r, modes) } });
  const blockCap = (r: Rng): object => ({ block: {}, access_mode: { mode: pick(r, modes) } });
  const goodCap = (r: Rng): object => (r() < 0.5 ? mountCap(r) : blockCap(r));
  const badCap = (r: Rng): object => pick(r, [
    { access_mode: { mode: 'SINGLE_NODE_WRITER' } },
    { mount: {}, access_mode: { mode: pick(r, multiNodeModes) } },
    { block: {}, access_mode: { mode: pick(r, multiNodeModes) } },
    { mount: {} },
    { mount: { fs_type: pick(r, ['btrfs', 'ntfs', 'ext4 ', '../ext4', 'x'.repeat(5000)]) }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
  ]);
  const insidePath = (r: Rng): string => `${k}/pods/${Math.floor(r() * 1e9).toString(36)}/volumes/kubernetes.io~csi/pv/mount`;
  // Every path a hostile request names outside the kubelet dir is the test's own (a regression must
  // not be able to unlink or mount over a file of the machine running the tests).
  const hostilePath = (r: Rng): string => pick(r, [
    'relative/path', out, `${out}/precious`, `${out}/new/dir`, k, `${k}/..`, `${k}/pods/../../${path.basename(out)}/precious`, `${k}/escape/precious`,
    `${k}/escape/new/dir`, `${k}/pods/link-out`, `${k}/pods/a\u0000b`, `${k}/${'d/'.repeat(2100)}`, `${k}-evil/pods/x`,
  ]);
  const params = { poolClass: 'SSD' };
  const badParams = (r: Rng): object => pick(r, [
    {},
    { poolClass: pick(r, ['Tape', 'ssd ', 'loam-ssd', '', hostileString(r)]) },
    { poolClass: 'SSD', replicaCount: pick(r, ['0', '2', '3', '-1', '1e9', '', 'two', ' 1']) },
    { poolClass: 'SSD', 'csi.storage.k8s.io/fstype': pick(r, ['btrfs', 'ntfs', 'ext4;', 'x'.repeat(300)]) },
    { poolClass: 'SSD', [pick(r, ['poolclass', 'pool', 'devicePath', '../x', 'x'.repeat(300)])]: 'v' },
  ]);
  const createBase = (r: Rng): Record<string, unknown> => ({
    name: r() < 0.5 ? `pvc-fuzz-${Math.floor(r() * 1e12).toString(36)}` : hostileString(r),
    capacity_range: { required_bytes: String(4 * 2 ** 20) },
    volume_capabilities: [goodCap(r)],
    parameters: params,
    secrets: { token: hostileString(r).slice(0, 1000) },
  });
  // Each CreateVolume case breaks exactly one thing, so the answer does not depend on the order of the checks.
  const createBreakers: Array<(r: Rng, req: Record<string, unknown>) => status> = [
    (_r, q) => { q.name = ''; return IA; },
    (_r, q) => { q.volume_capabilities = []; return IA; },
    (r, q) => { q.volume_capabilities = [goodCap(r), badCap(r)]; return IA; },
    (r, q) => { q.volume_content_source = r() < 0.5 ? { snapshot: { snapshot_id: hostileString(r) } } : { volume: { volume_id: unknownVolumeId(r) } }; return IA; },
    (r, q) => { q.parameters = badParams(r); return IA; },
    (r, q) => { q.capacity_range = { required_bytes: pick(r, ['-1', '-9223372036854775808', '9223372036854775807']) }; return IA; },
    (r, q) => { q.capacity_range = { required_bytes: String(5 * 2 ** 20), limit_bytes: String(pick(r, [6, 7]) * 2 ** 20) }; return status.OUT_OF_RANGE; },
    (_r, q) => { q.capacity_range = { required_bytes: String(2 ** 30), limit_bytes: String(2 ** 20) }; return status.OUT_OF_RANGE; },
    (r, q) => { q.accessibility_requirements = { requisite: [{ segments: { 'kubernetes.io/hostname': hostileString(r).slice(0, 200) } }] }; return IA; },
  ];
  const c = (service: Service, method: string, request: object, expect: status): Case => ({ service, method, request, expect });
  const wrongWireType = (method: string, service: Service): Case => ({ service, method, raw: Buffer.from([0x08, 0x01]), expect: IA });
  return [
    // Controller
    (r) => { const q = createBase(r); const expect = pick(r, createBreakers)(r, q); return c('Controller', 'CreateVolume', q, expect); },
    (r) => ({ ...c('Controller', 'CreateVolume', { ...createBase(r), name: 'x'.repeat(5 * 2 ** 20) }, status.RESOURCE_EXHAUSTED), ownConnection: true }),
    (r) => c('Controller', 'DeleteVolume', { volume_id: unknownVolumeId(r), secrets: { a: 'b' } }, status.OK),
    () => c('Controller', 'DeleteVolume', { volume_id: '' }, IA),
    (r) => c('Controller', 'ControllerExpandVolume', { volume_id: unknownVolumeId(r), capacity_range: { required_bytes: String(2 ** 30) } }, status.NOT_FOUND),
    (r) => c('Controller', 'ControllerExpandVolume', { volume_id: unknownVolumeId(r), capacity_range: { required_bytes: pick(r, ['-5', '9223372036854775807']) } }, IA),
    (r) => c('Controller', 'ControllerExpandVolume', { volume_id: unknownVolumeId(r) }, IA),
    (r) => c('Controller', 'ValidateVolumeCapabilities', { volume_id: unknownVolumeId(r), volume_capabilities: [goodCap(r)] }, status.NOT_FOUND),
    (r) => c('Controller', 'ValidateVolumeCapabilities', { volume_id: r() < 0.5 ? '' : unknownVolumeId(r), volume_capabilities: [] }, IA),
    (r) => c('Controller', 'ControllerGetVolume', { volume_id: unknownVolumeId(r) }, status.NOT_FOUND),
    (r) => c('Controller', 'ListVolumes', { max_entries: -1 - Math.floor(r() * 1e6) }, IA),
    (r) => c('Controller', 'ListVolumes', { starting_token: pick(r, ['not-a-token', 'AAAA', '../../', 'x'.repeat(10_000), '\u0000']) }, status.ABORTED),
    (r) => c('Controller', 'GetCapacity', { parameters: { poolClass: pick(r, ['Tape', 'loam-ssd', hostileString(r)]) } }, IA),
    (r) => wrongWireType(pick(r, ['CreateVolume', 'DeleteVolume', 'ControllerExpandVolume', 'ValidateVolumeCapabilities', 'ControllerGetVolume']), 'Controller'),
    (r) => ({ service: 'Controller', method: pick(r, ['CreateVolume', 'DeleteVolume']), raw: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), expect: IA }),
    (r) => ({ service: 'Controller', method: pick(r, ['ControllerPublishVolume', 'CreateSnapshot', 'ControllerModifyVolume']), raw: Buffer.alloc(0), expect: status.UNIMPLEMENTED }),
    // Node
    (r) => c('Node', 'NodeStageVolume', { volume_id: unknownVolumeId(r), staging_target_path: insidePath(r), volume_capability: goodCap(r) }, status.NOT_FOUND),
    (r) => c('Node', 'NodeStageVolume', { volume_id: unknownVolumeId(r), staging_target_path: hostilePath(r), volume_capability: goodCap(r) }, IA),
    (r) => c('Node', 'NodeStageVolume', { volume_id: unknownVolumeId(r), staging_target_path: insidePath(r), volume_capability: badCap(r) }, IA),
    (r) => c('Node', 'NodeStageVolume', { volume_id: unknownVolumeId(r), staging_target_path: insidePath(r), volume_capability: { mount: { mount_flags: [pick(r, ['', 'ro,\nexec', 'a b', '\t'])] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } } }, IA),
    (r) => c('Node', 'NodeStageVolume', pick(r, [{ staging_target_path: insidePath(r), volume_capability: goodCap(r) }, { volume_id: unknownVolumeId(r), volume_capability: goodCap(r) }, { volume_id: unknownVolumeId(r), staging_target_path: insidePath(r) }]), IA),
    (r) => c('Node', 'NodeUnstageVolume', { volume_id: unknownVolumeId(r), staging_target_path: hostilePath(r) }, IA),
    (r) => c('Node', 'NodeUnstageVolume', { volume_id: unknownVolumeId(r), staging_target_path: insidePath(r) }, status.OK),
    (r) => c('Node', 'NodePublishVolume', { volume_id: unknownVolumeId(r), staging_target_path: insidePath(r), target_path: insidePath(r), volume_capability: goodCap(r) }, status.NOT_FOUND),
    (r) => c('Node', 'NodePublishVolume', { volume_id: unknownVolumeId(r), staging_target_path: r() < 0.5 ? hostilePath(r) : insidePath(r), target_path: hostilePath(r), volume_capability: goodCap(r), readonly: r() < 0.5 }, IA),
    (r) => c('Node', 'NodeUnpublishVolume', { volume_id: unknownVolumeId(r), target_path: hostilePath(r) }, IA),
    (r) => c('Node', 'NodeUnpublishVolume', { volume_id: unknownVolumeId(r), target_path: r() < 0.5 ? `${k}/pods/foreign/mount` : insidePath(r) }, status.OK),
    (r) => c('Node', 'NodeGetVolumeStats', { volume_id: unknownVolumeId(r), volume_path: r() < 0.5 ? hostilePath(r) : insidePath(r) }, status.NOT_FOUND),
    (r) => c('Node', 'NodeExpandVolume', { volume_id: unknownVolumeId(r), volume_path: r() < 0.5 ? hostilePath(r) : insidePath(r), capacity_range: { required_bytes: String(2 ** 30) } }, status.NOT_FOUND),
    (r) => c('Node', 'NodeExpandVolume', { volume_id: unknownVolumeId(r), volume_path: insidePath(r), volume_capability: badCap(r) }, IA),
    (r) => c('Node', pick(r, ['NodeGetInfo', 'NodeGetCapabilities']), {}, status.OK),
    (r) => wrongWireType(pick(r, ['NodeStageVolume', 'NodeUnstageVolume', 'NodePublishVolume', 'NodeUnpublishVolume', 'NodeGetVolumeStats', 'NodeExpandVolume']), 'Node'),
    (r) => ({ service: 'Node', method: pick(r, ['NodeStageVolume', 'NodeUnpublishVolume']), raw: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), expect: IA }),
  ];
}

/** Every file, directory and link under `dir` with its bytes or target: equal snapshots mean nothing was touched. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = path.join(d, name);
      const st = await lstat(p);
      if (st.isSymbolicLink()) seen.set(p, `link ${await readlink(p)}`);
      else if (st.isDirectory()) {
        seen.set(p, 'dir');
        await walk(p);
      } else if (st.isFile()) seen.set(p, `file ${(await readFile(p)).toString('base64')}`);
      else seen.set(p, `other ${st.mode}`);
    }
  };
  await walk(dir);
  return seen;
}

describe('bad input: a seeded fuzz run against both CSI sockets', function () {
  this.timeout(600_000);
  const scratch = new Scratch();
  const nodeName = uniqueNodeName('csi-fuzz');
  let c: KubeClients;
  let outside = '';
  let controller: Awaited<ReturnType<typeof startControllerEndpoint>>;
  let node: { client: CsiTestClient; stop: () => Promise<void> };

  before(async () => {
    c = clients();
    const k = await scratch.create();
    outside = await mkdtemp(path.join(os.tmpdir(), 'loam-fuzz-outside-'));
    // What a hostile path may aim at: files outside the kubelet dir, links leading there, a foreign file inside.
    await writeFile(path.join(outside, 'precious'), 'keep me');
    await mkdir(path.join(k, 'pods', 'foreign'), { recursive: true });
    await writeFile(path.join(k, 'pods', 'foreign', 'mount'), 'a file Loam did not make');
    await symlink(outside, path.join(k, 'escape'));
    await symlink(path.join(outside, 'precious'), path.join(k, 'pods', 'link-out'));
    controller = await startControllerEndpoint(c, 5_000);
    await waitProbeReady(controller.client, 30_000);
    const socket = path.join(k, 'node.sock');
    const running = await serveCsiEndpoint({ endpoint: socket, node: createNodeService({ nodeName, clients: c, kubeletDir: k }) });
    const client = new CsiTestClient(socket);
    node = { client, stop: async () => { client.close(); await running.stop(); } };
  });

  after(async () => {
    await node?.stop();
    await controller?.stop();
    await scratch.cleanup();
    if (outside) await rm(outside, { recursive: true, force: true });
  });

  it('answers every malformed or hostile request with its CSI code, crashes nothing and changes nothing', async () => {
    const seed = Number(process.env.LOAM_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
    const total = Number(process.env.LOAM_FUZZ_REQUESTS ?? 1200);
    const rng = prng(seed);
    console.log(`      fuzz seed ${seed}, ${total} requests (LOAM_FUZZ_SEED=${seed} reproduces this run)`);
    const volumesBefore = (await c.rest.request<{ items: Array<{ metadata: { name: string } }> }>('GET', resourcePath(loamResources.localVolumes))).items.map((v) => v.metadata.name).sort();
    const filesBefore = new Map([...await snapshot(scratch.dir), ...await snapshot(outside)]);
    const makers = makeCases(scratch.dir, outside);
    const perRpc = new Map<string, number>();
    const perCode = new Map<string, number>();
    const wrong: string[] = [];
    for (let i = 0; i < total; i++) {
      const kase = pick(rng, makers)(rng);
      const shared = kase.service === 'Node' ? node.client : controller.client;
      const client = kase.ownConnection ? new CsiTestClient(shared.socketPath) : shared;
      let got: status = status.OK;
      let details = '';
      try {
        if (kase.raw) await client.raw(`/csi.v1.${kase.service}/${kase.method}`, kase.raw);
        else await client.call(kase.service, kase.method, kase.request!, 10_000);
      } catch (err) {
        got = (err as grpc.ServiceError).code;
        details = (err as grpc.ServiceError).details;
      } finally {
        if (client !== shared) client.close();
      }
      const rpc = `${kase.service}/${kase.method}`;
      perRpc.set(rpc, (perRpc.get(rpc) ?? 0) + 1);
      perCode.set(status[kase.expect], (perCode.get(status[kase.expect]) ?? 0) + 1);
      if (got !== kase.expect) wrong.push(`#${i} ${rpc} ${JSON.stringify(kase.request ?? kase.raw)?.slice(0, 300)}: expected ${status[kase.expect]}, got ${status[got]} ${details.slice(0, 300)}`);
    }
    console.log(`      requests per RPC: ${[...perRpc].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
    console.log(`      requests per expected code: ${[...perCode].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${total} requests got another code (seed ${seed})`);

    // Nothing crashed: both servers still answer.
    assert.deepEqual(await controller.client.call('Identity', 'Probe', {}), { ready: { value: true } });
    assert.deepEqual(await node.client.call('Identity', 'Probe', {}), { ready: { value: true } });
    // Nothing changed.
    const volumesAfter = (await c.rest.request<{ items: Array<{ metadata: { name: string } }> }>('GET', resourcePath(loamResources.localVolumes))).items.map((v) => v.metadata.name).sort();
    assert.deepEqual(volumesAfter, volumesBefore, 'no LocalVolume created or deleted');
    const replicas = await c.rest.request<{ items: unknown[] }>('GET', resourcePath(loamResources.localVolumeReplicas), { query: { labelSelector: `loam.io/node=${nodeName}` } });
    assert.equal(replicas.items.length, 0, 'no replica for the fuzzed node');
    assert.deepEqual((await readMounts()).filter((m) => m.mountPoint.startsWith(scratch.dir) || m.mountPoint.startsWith(outside)).map((m) => m.mountPoint), [], 'nothing mounted');
    const filesAfter = new Map([...await snapshot(scratch.dir), ...await snapshot(outside)]);
    filesAfter.delete(path.join(scratch.dir, 'node.sock'));
    filesBefore.delete(path.join(scratch.dir, 'node.sock'));
    assert.deepEqual(filesAfter, filesBefore, 'no file or directory made, changed or removed');
  });
});
