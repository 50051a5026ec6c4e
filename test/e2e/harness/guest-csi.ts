/**
 * CSI calls made inside a guest, as kubelet makes them on its node: one after another in one
 * process (test/sanity/guest/csi-call.ts), because starting node in a TCG guest takes seconds.
 */
import { runCompiled } from './guest-process.js';
import type { Vm } from './vm.js';

export type CsiService = 'Node' | 'Controller' | 'Identity';

/** Runs the calls on the guest's unix socket `socket`; resolves with their responses, throws at the first error. */
export async function guestCsiCalls(vm: Vm, socket: string, service: CsiService, calls: Array<[method: string, request: object]>): Promise<unknown[]> {
  const args = calls.flatMap(([method, request]) => [method, JSON.stringify(request)]);
  const r = await runCompiled(vm, 'test/sanity/guest/csi-call.ts', [socket, service, ...args], { timeoutMs: 300_000 });
  if (r.exitCode !== 0) throw new Error(`CSI calls in the guest failed (exit ${r.exitCode}): ${r.stdout}${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown);
}
