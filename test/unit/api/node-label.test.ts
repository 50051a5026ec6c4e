import assert from 'node:assert/strict';
import { localDiskName, nodeLabelValue } from '../../../src/api/index.js';

/** What Kubernetes accepts as a label value: at most 63 characters, alphanumeric at both ends, [-_.] inside. */
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const objectName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const fqdn70 = `worker-0001.${'rack-a7.'.repeat(6)}dc1.example.internal`;
const fqdn253 = `${'a'.repeat(61)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;

describe('api node label values', () => {
  it('is the node name itself when that is a valid label value', () => {
    assert.equal(nodeLabelValue('worker-1'), 'worker-1');
    assert.equal(nodeLabelValue('ip-10-0-0-1.ec2.internal'), 'ip-10-0-0-1.ec2.internal');
    assert.equal(nodeLabelValue('n'.repeat(63)), 'n'.repeat(63));
  });

  it('is a valid label value of at most 63 characters for an FQDN node name of 70 and of 253 characters', () => {
    assert.ok(fqdn70.length > 63 && fqdn253.length === 253);
    for (const node of [fqdn70, fqdn253, 'n'.repeat(64)]) {
      const value = nodeLabelValue(node);
      assert.ok(value.length <= 63, `${value} is ${value.length} characters`);
      assert.match(value, labelValue);
      assert.ok(value.startsWith(node.slice(0, 20)), 'a person can still tell the node from the value');
      assert.equal(nodeLabelValue(node), value, 'stable');
    }
  });

  it('gives long names that share a prefix different values', () => {
    const a = `${'x'.repeat(60)}.a.example`;
    const b = `${'x'.repeat(60)}.b.example`;
    assert.notEqual(nodeLabelValue(a), nodeLabelValue(b));
  });

  it('keeps a LocalDisk name a valid object name for a 253-character node name', () => {
    const name = localDiskName(fqdn253, '0x5000c500a1b2c3d4');
    assert.ok(name.length <= 253, `${name.length} characters`);
    assert.match(name, objectName);
    assert.notEqual(localDiskName(fqdn253, 'wwn-a'), localDiskName(fqdn253, 'wwn-b'));
    assert.notEqual(localDiskName(fqdn253, 'wwn-a'), localDiskName(`${fqdn253.slice(0, 252)}e`, 'wwn-a'));
    // Names that fit keep today's form, so existing disks keep their objects.
    assert.match(localDiskName(fqdn70, 'wwn-a'), new RegExp(`^${fqdn70.replaceAll('.', '\\.')}-[0-9a-f]{12}$`));
  });
});
