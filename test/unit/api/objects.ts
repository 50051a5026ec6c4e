/** Complete, valid objects of every kind (spec and status), shared by the unit and integration tests of the API. */
import { apiVersion, formatCapacity, localDiskName, localVolumeReplicaName } from '../../../src/api/index.js';
import type { LoamObject } from '../../../src/api/index.js';

export const testLabel = { 'test.loam.io/suite': 'api' };
const Gi = 2 ** 30;
const at = '2026-01-02T03:04:05Z';
const condition = { type: 'Ready', status: 'True' as const, observedGeneration: 1, lastTransitionTime: at, reason: 'Reconciled', message: 'all good' };

function meta(name: string): LoamObject['metadata'] {
  return { name, labels: { ...testLabel } };
}

/** One object of each kind, named with a prefix so parallel tests do not collide. */
export function validObjects(prefix: string): LoamObject[] {
  const node = `${prefix}-node`;
  const volume = `pvc-${prefix}`;
  const diskBytes = 2000398934016;
  return [
    {
      apiVersion, kind: 'LocalDisk', metadata: meta(localDiskName(node, '0x5000c500a1b2c3d4')),
      spec: {
        nodeName: node, devicePath: '/dev/sdb',
        identity: { wwn: '0x5000c500a1b2c3d4', serial: 'ZA1B2C3D', model: 'ST2000NM0008', vendor: 'SEAGATE', byIdPath: '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4', byPath: '/dev/disk/by-path/pci-0000:00:1f.2-ata-2' },
        capacityBytes: diskBytes, mediaClass: 'HDD', reserved: false,
        claimRef: { name: `${prefix}-claim`, uid: '2b1c6f0e-4d7a-4c1e-9a55-0d6f7b8c9e01' }, owner: 'local-storage',
      },
      status: {
        state: 'Claimed', reason: '', health: 'Healthy',
        smart: { temperatureC: 34, powerOnHours: 12034, mediaErrors: 0, percentageUsed: 3, checkedAt: at },
        capacity: formatCapacity(diskBytes), lastSeen: at, conditions: [condition], message: 'bound to its claim',
      },
    },
    {
      apiVersion, kind: 'LocalDiskClaim', metadata: meta(`${prefix}-claim`),
      spec: {
        nodeName: node, owner: 'local-storage',
        description: { mediaClass: 'HDD', minCapacityBytes: 100 * Gi, maxCapacityBytes: 4096 * Gi, devicePaths: ['/dev/sdb', '/dev/disk/by-id/wwn-0x5000c500a1b2c3d4'], count: 1 },
      },
      status: { phase: 'Bound', boundDisks: [localDiskName(node, '0x5000c500a1b2c3d4')], capacity: formatCapacity(diskBytes), message: '1 disk bound', conditions: [condition] },
    },
    {
      apiVersion, kind: 'LocalDiskNode', metadata: meta(node),
      spec: { nodeName: node },
      status: {
        disks: { total: 3, available: 1, claimed: 1, inUse: 1, unavailable: 0, offline: 0 },
        capacity: [{ mediaClass: 'HDD', disks: 3, totalBytes: 3 * diskBytes, availableBytes: diskBytes, total: formatCapacity(3 * diskBytes), available: formatCapacity(diskBytes) }],
        lastHeartbeatTime: at, conditions: [condition],
      },
    },
    {
      apiVersion, kind: 'LocalStorageNode', metadata: meta(node),
      spec: { nodeName: node },
      status: {
        state: 'Ready',
        pools: [{ name: 'loam-hdd', mediaClass: 'HDD', vgName: 'loam-hdd', totalBytes: diskBytes, freeBytes: diskBytes - 10 * Gi, volumeCount: 1, disks: [localDiskName(node, '0x5000c500a1b2c3d4')], total: formatCapacity(diskBytes), free: formatCapacity(diskBytes - 10 * Gi) }],
        poolClasses: 'HDD', free: formatCapacity(diskBytes - 10 * Gi), lastHeartbeatTime: at, message: '', conditions: [condition],
      },
    },
    {
      apiVersion, kind: 'LocalVolume', metadata: meta(volume),
      spec: {
        poolClass: 'HDD', capacityBytes: 10 * Gi, replicaCount: 2, pvcRef: { namespace: 'default', name: 'data' },
        accessibility: { requiredNodes: [node, `${prefix}-node2`], preferredNodes: [node] }, replicaNodes: [node, `${prefix}-node2`],
      },
      status: {
        state: 'Ready',
        replicas: [
          { name: localVolumeReplicaName(volume, node), nodeName: node, state: 'Ready', synced: true },
          { name: localVolumeReplicaName(volume, `${prefix}-node2`), nodeName: `${prefix}-node2`, state: 'Ready', synced: true },
        ],
        allocatedBytes: 10 * Gi, capacity: '10Gi', nodes: `${node},${prefix}-node2`, message: '', conditions: [condition],
      },
    },
    {
      apiVersion, kind: 'LocalVolumeReplica', metadata: meta(localVolumeReplicaName(volume, node)),
      spec: {
        volumeName: volume, nodeName: node, poolName: 'loam-hdd', capacityBytes: 10 * Gi,
        drbd: { minor: 1000, port: 7789, peerNode: `${prefix}-node2`, peerAddress: '192.0.2.12' },
      },
      status: { state: 'Ready', devicePath: '/dev/drbd1000', allocatedBytes: 10 * Gi, capacity: '10Gi', synced: true, message: '', conditions: [condition] },
    },
  ];
}

/** The object of one kind from validObjects, deep-copied so a test can change it freely. */
export function validObject<K extends LoamObject['kind']>(prefix: string, kind: K): Extract<LoamObject, { kind: K }> {
  const obj = validObjects(prefix).find((o) => o.kind === kind);
  if (!obj) throw new Error(`no valid ${kind}`);
  return structuredClone(obj) as Extract<LoamObject, { kind: K }>;
}
