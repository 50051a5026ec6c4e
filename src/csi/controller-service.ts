/**
 * The Controller service of lvm.loam.io (loam-controller). It never touches a disk: CreateVolume
 * writes a LocalVolume and waits until the VolumePlacer and the node agents have made it Ready;
 * DeleteVolume deletes it and waits until the finalizers have removed the LVs; expansion raises
 * spec.capacityBytes and waits for the LVs to grow. Reads come from informer caches; until their
 * first fill, calls wait for it within their deadline (UNAVAILABLE after).
 *
 * Each RPC checks in the same order: required fields and capabilities → lock → idempotency → act.
 * Locks (per volume id, and per name for CreateVolume) make a second call for a volume that is in
 * progress ABORTED; read-only RPCs take none.
 */
import { status } from '@grpc/grpc-js';
import { nodeOfLabelValue, type LocalStorageNode, type LocalVolume, type LocalVolumeReplica, type MediaClass } from '../api/index.js';
import { componentLogger, type Logger } from '../common/logger.js';
import type { Informer, KubeClients, SharedInformers } from '../kube/index.js';
import { CapacityView } from './controller-capacity.js';
import { pageOf } from './controller-list.js';
import { incompatibility, isPossibleVolumeId, planCreateVolume, volumeBytesOf, type CreateVolumePlan } from './controller-requests.js';
import { creationOutcome, csiVolumeOf, volumeBytes, volumeConditionOf, type CreationOutcome } from './controller-responses.js';
import { VolumeStore } from './controller-store.js';
import { aborted, alreadyExists, CsiError, notFound, resourceExhausted, unavailable } from './errors.js';
import type { ControllerExpandVolumeRequest__Output } from './generated/csi/v1/ControllerExpandVolumeRequest.js';
import type { ControllerExpandVolumeResponse } from './generated/csi/v1/ControllerExpandVolumeResponse.js';
import type { ControllerGetCapabilitiesResponse } from './generated/csi/v1/ControllerGetCapabilitiesResponse.js';
import type { ControllerGetVolumeRequest__Output } from './generated/csi/v1/ControllerGetVolumeRequest.js';
import type { ControllerGetVolumeResponse } from './generated/csi/v1/ControllerGetVolumeResponse.js';
import type { CreateVolumeRequest__Output } from './generated/csi/v1/CreateVolumeRequest.js';
import type { CreateVolumeResponse } from './generated/csi/v1/CreateVolumeResponse.js';
import type { DeleteVolumeRequest__Output } from './generated/csi/v1/DeleteVolumeRequest.js';
import type { DeleteVolumeResponse } from './generated/csi/v1/DeleteVolumeResponse.js';
import type { GetCapacityRequest__Output } from './generated/csi/v1/GetCapacityRequest.js';
import type { GetCapacityResponse } from './generated/csi/v1/GetCapacityResponse.js';
import type { ListVolumesRequest__Output } from './generated/csi/v1/ListVolumesRequest.js';
import type { ListVolumesResponse } from './generated/csi/v1/ListVolumesResponse.js';
import type { ValidateVolumeCapabilitiesRequest__Output } from './generated/csi/v1/ValidateVolumeCapabilitiesRequest.js';
import type { ValidateVolumeCapabilitiesResponse } from './generated/csi/v1/ValidateVolumeCapabilitiesResponse.js';
import type { CallContext } from './interceptor.js';
import { VolumeLocks } from './locks.js';
import type { ControllerService } from './server.js';
import { capabilityProblem, capacityRangeOf, isBlockCapability, requireField, requireSupportedCapabilities, topologyKey, volumeParametersOf } from './validate.js';

export interface ControllerServiceOptions {
  clients: KubeClients;
  /** How long one call waits for a volume to become Ready / be deleted / grow (default 60 s; the call's own deadline wins when shorter). */
  waitTimeoutMs?: number;
  /** Relist period of the informers (default 5 min). */
  resyncMs?: number;
  /** The process's shared informers (the volume placer watches the same volumes, replicas and storage nodes). */
  informers?: SharedInformers;
  /** GetCapacity: heartbeat age after which a node counts no room, as placement judges it (default 90 s). */
  staleAfterMs?: number;
  logger?: Logger;
}

const capabilities: ControllerGetCapabilitiesResponse = {
  capabilities: (['CREATE_DELETE_VOLUME', 'LIST_VOLUMES', 'GET_CAPACITY', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'GET_VOLUME', 'SINGLE_NODE_MULTI_WRITER'] as const).map((type) => ({ rpc: { type } })),
};

/** Answer a little before the CO's deadline, so it gets our message rather than its own timeout. */
const deadlineMarginMs = 1_000;

export class CsiControllerService implements ControllerService {
  private readonly store: VolumeStore;
  private readonly capacityView: CapacityView;
  private readonly locks = new VolumeLocks();
  private readonly waitTimeoutMs: number;
  private readonly log: Logger;

  constructor(opts: ControllerServiceOptions) {
    this.log = opts.logger ?? componentLogger('csi-controller');
    this.store = new VolumeStore(opts.clients, this.log, opts.resyncMs, opts.informers);
    this.capacityView = new CapacityView(opts.clients, this.store, this.log, opts.resyncMs, opts.informers, opts.staleAfterMs);
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 60_000;
  }

  /** The node a topology segment value stands for (a long node name arrives shortened: see topologyOf). */
  private nodeOf(value: string): string {
    const nodes = this.capacityView.storageNodes.cache;
    return nodeOfLabelValue(value, (n) => nodes.get(n) !== undefined, () => nodes.list().map((n) => n.spec?.nodeName ?? n.metadata.name!));
  }

  /** The plan with its accessibility requirements as node names instead of segment values. */
  private withNodeNames(plan: CreateVolumePlan): CreateVolumePlan {
    const a = plan.volume.spec.accessibility;
    if (!a) return plan;
    const accessibility = {
      ...(a.requiredNodes ? { requiredNodes: a.requiredNodes.map((n) => this.nodeOf(n)) } : {}),
      ...(a.preferredNodes ? { preferredNodes: a.preferredNodes.map((n) => this.nodeOf(n)) } : {}),
    };
    return { ...plan, volume: { ...plan.volume, spec: { ...plan.volume.spec, accessibility } } };
  }

  private get informers(): Array<Informer<LocalVolume> | Informer<LocalStorageNode> | Informer<LocalVolumeReplica>> {
    return [this.store.informer, this.capacityView.storageNodes, this.capacityView.replicas];
  }

  /**
   * Starts the informers and returns at once: the socket is served while they fill, Probe says
   * not ready until they have, and a call that needs them waits for them (`synced`). An API server
   * that cannot be reached yet so delays calls instead of ending the process.
   */
  async start(): Promise<void> {
    for (const i of this.informers) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /** For Identity's Probe: true once every cache is filled. */
  ready(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  /** Waits, within the call's deadline, for the caches' first fill; UNAVAILABLE (retried by COs) if it does not come. */
  private async synced(rpc: string, ctx: CallContext): Promise<void> {
    if (this.ready()) return;
    try {
      await Promise.all(this.informers.map((i) => i.waitForSync(this.waitMs(ctx))));
    } catch {
      throw unavailable(`${rpc}: loam-controller has not loaded LocalVolumes, LocalVolumeReplicas and LocalStorageNodes from the API server yet (Probe reports ready once it has); retry`);
    }
  }

  async ControllerGetCapabilities(): Promise<ControllerGetCapabilitiesResponse> {
    return capabilities;
  }

  /** Locks id and name: a retry of the same request while the first still waits is ABORTED. */
  async CreateVolume(req: CreateVolumeRequest__Output, ctx: CallContext): Promise<CreateVolumeResponse> {
    const planned = planCreateVolume(req);
    await this.synced('CreateVolume', ctx);
    const plan = this.withNodeNames(planned);
    return this.locks.run(plan.id, async () => {
      let volume = await this.store.get(plan.id, ctx.signal);
      const created = volume ? undefined : await this.store.create(plan.volume, ctx.signal);
      if (created) {
        ctx.log.info('LocalVolume created', { volume: plan.id, spec: plan.volume.spec });
      } else {
        // It existed (or another writer created it a moment ago): a retry only if it is the same volume.
        volume ??= await this.store.read(plan.id, ctx.signal);
        if (!volume) throw aborted(`CreateVolume: volume ${plan.id} vanished while it was being created; retry`);
        const why = incompatibility(volume, plan);
        if (why) throw alreadyExists(`CreateVolume: ${why}`);
        await this.followNewTopology(volume, plan.volume, ctx);
      }
      for (;;) {
        const { v, outcome } = await this.store.waitFor(plan.id, (current) => {
          if (!current) return { v: current, outcome: undefined };
          const o = creationOutcome(current);
          return o.kind === 'waiting' ? undefined : { v: current, outcome: o };
        }, { signal: ctx.signal, timeoutMs: this.waitMs(ctx), what: `CreateVolume: volume ${plan.id}` });
        if (!v || !outcome) throw aborted(`CreateVolume: volume ${plan.id} was deleted while it was being created; retry`);
        const answer = await this.answerCreation(v, outcome, ctx);
        if (answer) return answer;
      }
    }, [req.name]);
  }

  /** The response for a settled volume, or undefined to go on waiting (the placer placed it meanwhile). */
  private async answerCreation(v: LocalVolume, outcome: CreationOutcome, ctx: CallContext): Promise<CreateVolumeResponse | undefined> {
    const id = v.metadata.name!;
    switch (outcome.kind) {
      case 'ready':
        return { volume: csiVolumeOf(v) };
      case 'deleting':
        throw aborted(`CreateVolume: volume ${id} is being deleted; retry when it is gone`);
      case 'failed':
        throw new CsiError(status.INTERNAL, `CreateVolume: volume ${id} failed: ${outcome.message}`);
      case 'no-room':
        // Nothing exists for an unplaced volume but the object: delete it, so a PVC deleted after a
        // failed provision leaves nothing behind, and a retry (maybe for another node) starts afresh.
        // Only this version is deleted: if the placer found room meanwhile, the delete is refused.
        try {
          await this.store.delete(id, v.metadata.resourceVersion);
        } catch (err) {
          if (err instanceof CsiError && err.code === status.ABORTED) return undefined;
          throw err;
        }
        ctx.log.info('no room for the volume; its LocalVolume is deleted', { volume: id, message: outcome.message });
        throw resourceExhausted(`CreateVolume: ${outcome.message}`);
      case 'waiting':
        return undefined;
    }
  }

  /** A retry may carry other topology (the scheduler chose another node); an unplaced volume follows it. */
  private async followNewTopology(existing: LocalVolume, wanted: LocalVolume, ctx: CallContext): Promise<LocalVolume> {
    if (existing.spec.replicaNodes?.length || existing.metadata.deletionTimestamp) return existing;
    if (JSON.stringify(existing.spec.accessibility ?? {}) === JSON.stringify(wanted.spec.accessibility ?? {})) return existing;
    ctx.log.info('volume not placed yet: taking the topology of the new request', { volume: existing.metadata.name, accessibility: wanted.spec.accessibility });
    return this.store.patch(existing.metadata.name!, { spec: { accessibility: wanted.spec.accessibility ?? null } }, existing.metadata.resourceVersion);
  }

  /** Idempotent: an unknown id is success. Waits until the LocalVolume is gone (its LVs removed). */
  async DeleteVolume(req: DeleteVolumeRequest__Output, ctx: CallContext): Promise<DeleteVolumeResponse> {
    requireField('DeleteVolume', 'volume_id', req.volume_id);
    const id = req.volume_id;
    if (!isPossibleVolumeId(id)) return {};
    await this.synced('DeleteVolume', ctx);
    return this.locks.run(id, async () => {
      if (!(await this.store.delete(id))) return {};
      await this.store.waitFor(id, (v) => (v ? undefined : true), { signal: ctx.signal, timeoutMs: this.waitMs(ctx), what: `DeleteVolume: volume ${id}` });
      ctx.log.info('LocalVolume deleted', { volume: id });
      return {};
    });
  }

  async ValidateVolumeCapabilities(req: ValidateVolumeCapabilitiesRequest__Output, ctx: CallContext): Promise<ValidateVolumeCapabilitiesResponse> {
    const rpc = 'ValidateVolumeCapabilities';
    requireField(rpc, 'volume_id', req.volume_id);
    requireField(rpc, 'volume_capabilities', req.volume_capabilities);
    await this.existing(rpc, req.volume_id, ctx);
    for (const cap of req.volume_capabilities) {
      const problem = capabilityProblem(cap);
      if (problem) return { message: problem };
    }
    if (Object.keys(req.parameters ?? {}).length > 0) {
      try {
        volumeParametersOf(rpc, req.parameters);
      } catch (err) {
        return { message: (err as Error).message };
      }
    }
    return { confirmed: { volume_context: req.volume_context, volume_capabilities: req.volume_capabilities, parameters: req.parameters } };
  }

  async ListVolumes(req: ListVolumesRequest__Output, ctx: CallContext): Promise<ListVolumesResponse> {
    await this.synced('ListVolumes', ctx);
    const page = pageOf(this.store.list(), req.max_entries ?? 0, req.starting_token ?? '');
    return {
      entries: page.volumes.map((v) => ({ volume: csiVolumeOf(v), status: { volume_condition: volumeConditionOf(v) } })),
      next_token: page.nextToken,
    };
  }

  async ControllerGetVolume(req: ControllerGetVolumeRequest__Output, ctx: CallContext): Promise<ControllerGetVolumeResponse> {
    requireField('ControllerGetVolume', 'volume_id', req.volume_id);
    const v = await this.existing('ControllerGetVolume', req.volume_id, ctx);
    return { volume: csiVolumeOf(v), status: { volume_condition: volumeConditionOf(v) } };
  }

  async GetCapacity(req: GetCapacityRequest__Output, ctx: CallContext): Promise<GetCapacityResponse> {
    const rpc = 'GetCapacity';
    const caps = req.volume_capabilities ?? [];
    if (caps.some((c) => capabilityProblem(c) !== undefined)) return { available_capacity: 0 };
    let poolClass: MediaClass | undefined;
    if (req.parameters?.poolClass !== undefined) poolClass = volumeParametersOf(rpc, req.parameters).poolClass;
    const segments = req.accessible_topology?.segments ?? {};
    const segment = segments[topologyKey];
    if (Object.keys(segments).length > 0 && !segment) return { available_capacity: 0 };
    await this.synced(rpc, ctx);
    const nodeName = segment === undefined ? undefined : this.nodeOf(segment);
    const answer = this.capacityView.capacity({ nodeName, poolClass });
    return { available_capacity: answer.availableBytes, maximum_volume_size: { value: answer.maximumVolumeBytes } };
  }

  /** Raises spec.capacityBytes (never lowers it) and waits until every replica LV has grown. */
  async ControllerExpandVolume(req: ControllerExpandVolumeRequest__Output, ctx: CallContext): Promise<ControllerExpandVolumeResponse> {
    const rpc = 'ControllerExpandVolume';
    requireField(rpc, 'volume_id', req.volume_id);
    requireField(rpc, 'capacity_range', req.capacity_range);
    if (req.volume_capability) requireSupportedCapabilities(rpc, 'volume_capability', [req.volume_capability]);
    const bounds = capacityRangeOf(rpc, req.capacity_range);
    const nodeExpansionRequired = !isBlockCapability(req.volume_capability);
    return this.locks.run(req.volume_id, async () => {
      const v = await this.existing(rpc, req.volume_id, ctx);
      if (v.metadata.deletionTimestamp) throw aborted(`${rpc}: volume ${req.volume_id} is being deleted`);
      const target = bounds.requiredBytes > v.spec.capacityBytes ? volumeBytesOf(rpc, bounds) : v.spec.capacityBytes;
      if (target > v.spec.capacityBytes) {
        await this.store.patch(req.volume_id, { spec: { capacityBytes: target } });
        ctx.log.info('volume capacity raised', { volume: req.volume_id, from: v.spec.capacityBytes, to: target });
      }
      const grown = await this.store.waitFor(req.volume_id, (current) => {
        if (!current) throw notFound(`${rpc}: volume ${req.volume_id} was deleted`);
        const allocated = current.status?.allocatedBytes ?? 0;
        // An unplaced volume grows for free: its LVs will be made at the new size.
        return allocated >= target || (!current.spec.replicaNodes?.length && current.spec.capacityBytes >= target) ? current : undefined;
      }, { signal: ctx.signal, timeoutMs: this.waitMs(ctx), what: `${rpc}: volume ${req.volume_id} growing to ${target} bytes` });
      return { capacity_bytes: volumeBytes(grown), node_expansion_required: nodeExpansionRequired };
    });
  }

  /** The volume, or NOT_FOUND naming it. */
  private async existing(rpc: string, id: string, ctx: CallContext): Promise<LocalVolume> {
    await this.synced(rpc, ctx);
    const v = isPossibleVolumeId(id) ? await this.store.get(id, ctx.signal) : undefined;
    if (!v) throw notFound(`${rpc}: volume ${id} does not exist`);
    return v;
  }

  private waitMs(ctx: CallContext): number {
    return Math.max(0, Math.min(this.waitTimeoutMs, ctx.deadline - Date.now() - deadlineMarginMs));
  }
}

/** The Controller service with its informers; `start()` them before serving (it returns at once), `stop()` after. */
export function createControllerService(opts: ControllerServiceOptions): CsiControllerService {
  return new CsiControllerService(opts);
}
