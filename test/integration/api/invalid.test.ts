/* eslint-disable @typescript-eslint/no-explicit-any -- the cases break typed objects on purpose */
import assert from 'node:assert/strict';
import { validateObject, type LoamObject } from '../../../src/api/index.js';
import { validObject } from '../../unit/api/objects.js';
import { useLoamTestClient, refusal } from './client.js';

type Kind = LoamObject['kind'];

/** An object the API server must refuse at create, or a valid object and a change it must refuse. */
interface Case {
  name: string;
  kind: Kind;
  /** Breaks a valid object before create. */
  create?: (o: any) => void;
  /** A merge patch of the main resource, applied to the valid object after create. */
  update?: object;
  /** A merge patch of /status, applied after create. */
  status?: object;
  expected: RegExp;
}

const devicePathMessage = (path: string) => new RegExp(`"${path}" is not a device path: use an absolute path under /dev/, e\\.g\\. /dev/sdb`);
const unknownField = (path: string) => new RegExp(`strict decoding error: unknown field "${path.replaceAll('.', '\\.')}"`);

const cases: Case[] = [
  // LocalDisk
  { name: 'media class outside the enum', kind: 'LocalDisk', create: (o) => { o.spec.mediaClass = 'Flash'; }, expected: /spec\.mediaClass: Unsupported value: "Flash": supported values: "HDD", "SSD", "NVMe"/ },
  { name: 'negative capacity', kind: 'LocalDisk', create: (o) => { o.spec.capacityBytes = -1; }, expected: /spec\.capacityBytes: Invalid value: -1: spec\.capacityBytes in body should be greater than or equal to 0/ },
  { name: 'relative device path', kind: 'LocalDisk', create: (o) => { o.spec.devicePath = 'sdb'; }, expected: devicePathMessage('sdb') },
  { name: 'device path outside /dev', kind: 'LocalDisk', create: (o) => { o.spec.devicePath = '/tmp/disk.img'; }, expected: devicePathMessage('/tmp/disk.img') },
  { name: 'missing node name', kind: 'LocalDisk', create: (o) => { delete o.spec.nodeName; }, expected: /spec\.nodeName: Required value/ },
  { name: 'claimRef without uid', kind: 'LocalDisk', create: (o) => { delete o.spec.claimRef.uid; }, expected: /spec\.claimRef\.uid: Required value/ },
  { name: 'owner that is not a DNS label', kind: 'LocalDisk', create: (o) => { o.spec.owner = 'Local Storage'; }, expected: /spec\.owner: Invalid value: "Local Storage": spec\.owner in body should match/ },
  { name: 'unknown spec field (strict)', kind: 'LocalDisk', create: (o) => { o.spec.colour = 'red'; }, expected: unknownField('spec.colour') },
  { name: 'unknown identity field (strict)', kind: 'LocalDisk', create: (o) => { o.spec.identity.serialNumber = 'X'; }, expected: unknownField('spec.identity.serialNumber') },
  { name: 'changed nodeName', kind: 'LocalDisk', update: { spec: { nodeName: 'elsewhere' } }, expected: /spec\.nodeName: Forbidden: spec\.nodeName is immutable: delete and recreate the object to move it to another node/ },
  { name: 'claimRef moved to another claim in one step', kind: 'LocalDisk', update: { spec: { claimRef: { name: 'thief', uid: 'u-9' } } }, expected: /spec\.claimRef: Forbidden: spec\.claimRef cannot move from one claim to another in one step: clear spec\.claimRef first, then set the new claim/ },
  { name: 'status state outside the enum', kind: 'LocalDisk', status: { status: { state: 'Broken' } }, expected: /status\.state: Unsupported value: "Broken": supported values: "Available", "Claimed", "InUse", "Unavailable", "Offline"/ },
  { name: 'health outside the enum', kind: 'LocalDisk', status: { status: { health: 'Sick' } }, expected: /status\.health: Unsupported value: "Sick"/ },
  // LocalDiskClaim
  { name: 'claim media class outside the enum', kind: 'LocalDiskClaim', create: (o) => { o.spec.description.mediaClass = 'Tape'; }, expected: /spec\.description\.mediaClass: Unsupported value: "Tape"/ },
  { name: 'min capacity above max', kind: 'LocalDiskClaim', create: (o) => { o.spec.description.minCapacityBytes = 2e12; o.spec.description.maxCapacityBytes = 1e12; },
    expected: /spec\.description\.minCapacityBytes: Invalid value: .*spec\.description\.minCapacityBytes must not exceed spec\.description\.maxCapacityBytes: lower the minimum or raise the maximum/ },
  { name: 'relative claim device path', kind: 'LocalDiskClaim', create: (o) => { o.spec.description.devicePaths = ['/dev/sdb', 'sdc']; }, expected: devicePathMessage('sdc') },
  { name: 'count of zero disks', kind: 'LocalDiskClaim', create: (o) => { o.spec.description.count = 0; }, expected: /spec\.description\.count: Invalid value: 0: spec\.description\.count in body should be greater than or equal to 1/ },
  { name: 'unknown description field (strict)', kind: 'LocalDiskClaim', create: (o) => { o.spec.description.size = '1Ti'; }, expected: unknownField('spec.description.size') },
  { name: 'changed claim nodeName', kind: 'LocalDiskClaim', update: { spec: { nodeName: 'elsewhere' } }, expected: /spec\.nodeName is immutable: delete and recreate the object to move it to another node/ },
  { name: 'claim phase outside the enum', kind: 'LocalDiskClaim', status: { status: { phase: 'Done' } }, expected: /status\.phase: Unsupported value: "Done": supported values: "Pending", "Bound"/ },
  // LocalDiskNode, LocalStorageNode
  { name: 'disk node without nodeName', kind: 'LocalDiskNode', create: (o) => { o.spec = {}; }, expected: /spec\.nodeName: Required value/ },
  { name: 'negative disk count', kind: 'LocalDiskNode', status: { status: { disks: { total: -1 } } }, expected: /status\.disks\.total: Invalid value: -1: .*greater than or equal to 0/ },
  { name: 'changed storage node nodeName', kind: 'LocalStorageNode', update: { spec: { nodeName: 'elsewhere' } }, expected: /spec\.nodeName is immutable/ },
  { name: 'storage node state outside the enum', kind: 'LocalStorageNode', status: { status: { state: 'Maybe' } }, expected: /status\.state: Unsupported value: "Maybe": supported values: "Ready", "NotReady"/ },
  { name: 'pool with negative free bytes', kind: 'LocalStorageNode', status: { status: { pools: [{ name: 'loam-ssd', mediaClass: 'SSD', freeBytes: -5 }] } }, expected: /status\.pools\[0\]\.freeBytes: Invalid value: -5/ },
  // LocalVolume
  { name: 'replicaCount 3', kind: 'LocalVolume', create: (o) => { o.spec.replicaCount = 3; o.spec.replicaNodes = ['a']; },
    expected: /spec\.replicaCount: Invalid value: .*spec\.replicaCount must be 1 \(a single local copy\) or 2 \(mirrored on two nodes with DRBD\)/ },
  { name: 'replicaCount 0', kind: 'LocalVolume', create: (o) => { o.spec.replicaCount = 0; delete o.spec.replicaNodes; }, expected: /spec\.replicaCount must be 1 \(a single local copy\) or 2/ },
  { name: 'pool class in the wrong case', kind: 'LocalVolume', create: (o) => { o.spec.poolClass = 'ssd'; }, expected: /spec\.poolClass: Unsupported value: "ssd": supported values: "HDD", "SSD", "NVMe"/ },
  { name: 'zero capacity', kind: 'LocalVolume', create: (o) => { o.spec.capacityBytes = 0; }, expected: /spec\.capacityBytes in body should be greater than or equal to 1/ },
  { name: 'capacity as a string', kind: 'LocalVolume', create: (o) => { o.spec.capacityBytes = '10Gi'; }, expected: /spec\.capacityBytes: Invalid value: "string": spec\.capacityBytes in body must be of type integer/ },
  { name: 'more replica nodes than replicas', kind: 'LocalVolume', create: (o) => { o.spec.replicaCount = 1; }, expected: /spec\.replicaNodes: Invalid value: .*spec\.replicaNodes lists more nodes than spec\.replicaCount: list at most replicaCount nodes/ },
  { name: 'unknown volume field (strict)', kind: 'LocalVolume', create: (o) => { o.spec.size = '10Gi'; }, expected: unknownField('spec.size') },
  { name: 'shrinking capacity', kind: 'LocalVolume', update: { spec: { capacityBytes: 2 ** 30 } }, expected: /spec\.capacityBytes: Forbidden: spec\.capacityBytes can only grow: volumes cannot shrink; to get a smaller volume create a new one and copy the data/ },
  { name: 'changed pool class', kind: 'LocalVolume', update: { spec: { poolClass: 'NVMe' } }, expected: /spec\.poolClass: Forbidden: spec\.poolClass is immutable/ },
  { name: 'changed replicaCount', kind: 'LocalVolume', update: { spec: { replicaCount: 1, replicaNodes: ['a'] } }, expected: /spec\.replicaCount: Forbidden: spec\.replicaCount is immutable/ },
  { name: 'volume state outside the enum', kind: 'LocalVolume', status: { status: { state: 'Broken' } }, expected: /status\.state: Unsupported value: "Broken": supported values: "Pending", "Creating", "Ready", "Degraded", "Expanding", "Deleting", "Failed"/ },
  // LocalVolumeReplica
  { name: 'negative replica capacity', kind: 'LocalVolumeReplica', create: (o) => { o.spec.capacityBytes = -1; }, expected: /spec\.capacityBytes in body should be greater than or equal to 1/ },
  { name: 'DRBD port out of range', kind: 'LocalVolumeReplica', create: (o) => { o.spec.drbd.port = 70000; }, expected: /spec\.drbd\.port: Invalid value: 70000: spec\.drbd\.port in body should be less than or equal to 65535/ },
  { name: 'DRBD without peer address', kind: 'LocalVolumeReplica', create: (o) => { delete o.spec.drbd.peerAddress; }, expected: /spec\.drbd\.peerAddress: Required value/ },
  { name: 'unknown replica field (strict)', kind: 'LocalVolumeReplica', create: (o) => { o.spec.lvName = 'x'; }, expected: unknownField('spec.lvName') },
  { name: 'shrinking replica', kind: 'LocalVolumeReplica', update: { spec: { capacityBytes: 2 ** 20 } }, expected: /spec\.capacityBytes: Forbidden: spec\.capacityBytes can only grow: LVs of a volume are never shrunk; grow the LocalVolume instead/ },
  { name: 'replica moved to another node', kind: 'LocalVolumeReplica', update: { spec: { nodeName: 'elsewhere' } }, expected: /spec\.nodeName is immutable/ },
  { name: 'replica moved to another volume', kind: 'LocalVolumeReplica', update: { spec: { volumeName: 'pvc-other' } }, expected: /spec\.volumeName: Forbidden: spec\.volumeName is immutable: delete and recreate the object to attach a replica to another volume/ },
];

describe('api: the kube-apiserver refuses invalid objects and says what to fix', function () {
  this.timeout(60_000);
  const client = useLoamTestClient();

  it('has a table of at least 25 cases', () => {
    assert.ok(cases.length >= 25, `${cases.length} cases`);
  });

  cases.forEach((c, i) => {
    it(`${c.kind}: ${c.name}`, async () => {
      const obj: any = validObject(`inv${i}`, c.kind);
      if (c.create) {
        c.create(obj);
        const message = await refusal(client().create(obj));
        assert.match(message, c.expected);
        // The controllers' own check (ajv) refuses it as well.
        assert.notDeepEqual(validateObject(c.kind, obj), [], 'the ajv validator accepted what the API server refused');
        return;
      }
      await client().createWithStatus(obj);
      const name = obj.metadata.name as string;
      const message = c.update ? await refusal(client().patch(c.kind, name, c.update)) : await refusal(client().patchStatus(c.kind, name, c.status!));
      assert.match(message, c.expected);
      // Nothing of the refused change was stored.
      const stored = await client().get(c.kind, name);
      assert.deepEqual(stored.spec, obj.spec);
      assert.deepEqual(stored.status, obj.status);
    });
  });
});
