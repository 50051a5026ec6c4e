/**
 * Shared pieces of the claim binder's integration tests: loam-controller as a real child process,
 * LocalDisks written the way loam-node writes them (create, then a status patch), and readers for
 * what a user looks at (claim status, disk claimRef, events).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { apiVersion, formatCapacity, labels, loamResources, type LocalDisk, type LocalDiskClaim, type LocalDiskState, type MediaClass, type DiskClaimDescription } from '../../../src/api/index.js';
import { createKubeClients, isNotFound, mergePatch, patchStatus, resourcePath, type KubeClients } from '../../../src/kube/index.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { controlPlane } from '../setup.js';

export const Gi = 2 ** 30;

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

export function clients(): KubeClients {
  return createKubeClients(controlPlane().kubeConfig());
}

export interface RunningController {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts `loam-controller` against the test control plane; its JSON logs are kept for failure messages. */
export function startController(args: string[] = []): RunningController {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/loam-controller.ts', '--kubeconfig', controlPlane().kubeconfigPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2_000_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

export interface DiskInput {
  name: string;
  node: string;
  path: string;
  gi: number;
  mediaClass: MediaClass;
  state?: LocalDiskState;
  reason?: string;
}

/** Creates a LocalDisk as loam-node does: the object with its node label, then its status. */
export async function createDisk(c: KubeClients, d: DiskInput): Promise<LocalDisk> {
  const body: LocalDisk = {
    apiVersion, kind: 'LocalDisk',
    metadata: { name: d.name, labels: { [labels.node]: d.node } },
    spec: { nodeName: d.node, devicePath: d.path, capacityBytes: d.gi * Gi, mediaClass: d.mediaClass, identity: { serial: d.name } },
  };
  await c.rest.request('POST', resourcePath(loamResources.localDisks), { body, query: { fieldManager: 'loam-node', fieldValidation: 'Strict' } });
  const status = { state: d.state ?? 'Available', capacity: formatCapacity(d.gi * Gi), health: 'Unknown', ...(d.reason ? { reason: d.reason } : {}) };
  return patchStatus<LocalDisk>(c, loamResources.localDisks, { name: d.name }, status, { fieldManager: 'loam-node' });
}

/** Turns a disk's state as loam-node would (e.g. to InUse once it is a physical volume). */
export async function setDiskState(c: KubeClients, name: string, state: LocalDiskState): Promise<void> {
  await patchStatus(c, loamResources.localDisks, { name }, { state }, { fieldManager: 'loam-node' });
}

export async function createClaim(c: KubeClients, name: string, nodeName: string, description: DiskClaimDescription): Promise<LocalDiskClaim> {
  const body: LocalDiskClaim = { apiVersion, kind: 'LocalDiskClaim', metadata: { name }, spec: { nodeName, description } };
  return c.rest.request<LocalDiskClaim>('POST', resourcePath(loamResources.localDiskClaims), { body, query: { fieldValidation: 'Strict' } });
}

export async function getClaim(c: KubeClients, name: string): Promise<LocalDiskClaim | undefined> {
  try {
    return await c.rest.request<LocalDiskClaim>('GET', resourcePath(loamResources.localDiskClaims, undefined, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function getDisk(c: KubeClients, name: string): Promise<LocalDisk> {
  return c.rest.request<LocalDisk>('GET', resourcePath(loamResources.localDisks, undefined, name));
}

export async function deleteClaim(c: KubeClients, name: string): Promise<void> {
  await c.rest.request('DELETE', resourcePath(loamResources.localDiskClaims, undefined, name)).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

/** Removes what a test made: claims first (the controller releases their disks), then disks; finalizers are dropped if the controller is gone. */
export async function cleanup(c: KubeClients, claims: string[], disks: string[]): Promise<void> {
  for (const name of claims) {
    await deleteClaim(c, name);
    await mergePatch(c, loamResources.localDiskClaims, { name }, { metadata: { finalizers: null } }).catch(() => undefined);
  }
  for (const name of disks) {
    await c.rest.request('DELETE', resourcePath(loamResources.localDisks, undefined, name)).catch(() => undefined);
  }
}

/** Waits until the claim satisfies `check`; the failure names the last status seen. */
export async function waitForClaim(c: KubeClients, name: string, what: string, check: (claim: LocalDiskClaim) => boolean, timeoutMs = 20_000): Promise<LocalDiskClaim> {
  let last: LocalDiskClaim | undefined;
  try {
    await waitFor(`claim ${name} ${what}`, async () => {
      last = await getClaim(c, name);
      return last !== undefined && check(last);
    }, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`, { cause: err });
  }
  return last!;
}

export interface EventSeen {
  type: string;
  reason: string;
  note: string;
  related?: string;
}

/** Events.k8s.io Events about a cluster-scoped object (they live in `default`). */
export async function eventsAbout(c: KubeClients, kind: string, name: string): Promise<EventSeen[]> {
  const list = await c.rest.request<{ items: Array<{ type: string; reason: string; note?: string; regarding?: { kind?: string; name?: string }; related?: { name?: string } }> }>(
    'GET', '/apis/events.k8s.io/v1/namespaces/default/events');
  return list.items
    .filter((e) => e.regarding?.kind === kind && e.regarding.name === name)
    .map((e) => ({ type: e.type, reason: e.reason, note: e.note ?? '', related: e.related?.name }));
}

/** SIGTERM, then: it exits 0 within 15 s, and its log has no error and no failed reconcile. */
export async function stopController(controller: RunningController): Promise<void> {
  controller.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([controller.exited, new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 15_000)))]);
  clearTimeout(timer);
  controller.child.kill('SIGKILL');
  await controller.exited;
  assert.equal(code, 0, 'loam-controller exits 0 on SIGTERM');
  const failures = controller.stderr().split('\n').filter((l) => /"level":"error"|reconcile failed/.test(l));
  assert.deepEqual(failures, [], 'no reconcile failed or retried in a loop');
}
