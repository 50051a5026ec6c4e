import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { formatCapacity, localDiskName, localVolumeReplicaName } from '../../../src/api/index.js';

describe('api names', () => {
  it('names a LocalDisk <node>-<first 12 hex of sha256(stable id)>', () => {
    const expected = createHash('sha256').update('0x5000c500a1b2c3d4').digest('hex').slice(0, 12);
    assert.equal(localDiskName('worker-1', '0x5000c500a1b2c3d4'), `worker-1-${expected}`);
    assert.match(localDiskName('worker-1', 'SEAGATE ST2000 ZA1B'), /^worker-1-[0-9a-f]{12}$/);
  });

  it('gives the same disk the same name on every call and different disks different names', () => {
    assert.equal(localDiskName('n1', 'wwn-a'), localDiskName('n1', 'wwn-a'));
    assert.notEqual(localDiskName('n1', 'wwn-a'), localDiskName('n1', 'wwn-b'));
    assert.notEqual(localDiskName('n1', 'wwn-a'), localDiskName('n2', 'wwn-a'));
  });

  it('refuses to name a disk without a node or a stable id', () => {
    assert.throws(() => localDiskName('', 'wwn-a'), /a node name is required/);
    assert.throws(() => localDiskName('n1', ''), /a stable id is required for a disk of node n1/);
  });

  it('names a replica <volume>-<first 12 hex of sha256(node)>', () => {
    const hash = createHash('sha256').update('worker-2').digest('hex').slice(0, 12);
    assert.equal(localVolumeReplicaName('pvc-1234', 'worker-2'), `pvc-1234-${hash}`);
    assert.throws(() => localVolumeReplicaName('pvc-1', ''), /volume and node are required/);
  });

  it('gives two (volume, node) pairs whose <volume>-<node> would be equal two different replica names', () => {
    assert.notEqual(localVolumeReplicaName('pvc-a', 'b-c'), localVolumeReplicaName('pvc-a-b', 'c'));
    assert.notEqual(localVolumeReplicaName('pvc-a', 'b'), localVolumeReplicaName('pvc-a', 'c'));
  });

  it('keeps a replica name a valid object name for a long FQDN node name (at most 253 characters)', () => {
    const node = `${'n'.repeat(60)}.${'rack'.repeat(15)}.example.internal`;
    const name = localVolumeReplicaName('pvc-0c8e1a52-5a0e-4e7e-9d0c-6b7f5f0e3b11', node);
    assert.match(name, /^pvc-0c8e1a52-5a0e-4e7e-9d0c-6b7f5f0e3b11-[0-9a-f]{12}$/);
    assert.equal(localVolumeReplicaName('v'.repeat(253), 'n').length, 253);
    assert.notEqual(localVolumeReplicaName(`${'v'.repeat(250)}x`, 'n'), localVolumeReplicaName(`${'v'.repeat(250)}y`, 'n'), 'shortened names stay distinct');
  });
});

describe('api capacity strings', () => {
  it('formats byte counts in binary units for status and printer columns', () => {
    assert.equal(formatCapacity(2000398934016), '1.8Ti');
    assert.equal(formatCapacity(10 * 2 ** 30), '10Gi');
    assert.equal(formatCapacity(1536 * 2 ** 20), '1.5Gi');
    assert.equal(formatCapacity(3 * 2 ** 50), '3Pi');
    assert.equal(formatCapacity(512), '512');
    assert.equal(formatCapacity(0), '0');
  });

  it('refuses what is not a byte count', () => {
    assert.throws(() => formatCapacity(-1), /-1 is not a byte count/);
    assert.throws(() => formatCapacity(1.5), /1.5 is not a byte count/);
    assert.throws(() => formatCapacity(Number.NaN), /NaN is not a byte count/);
  });
});
