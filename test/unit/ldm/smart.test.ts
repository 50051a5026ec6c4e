import assert from 'node:assert/strict';
import { parseSmartctl, readSmart } from '../../../src/ldm/smart.js';

const at = new Date('2026-01-02T03:04:05.000Z');

describe('parseSmartctl', function () {
  it('a healthy NVMe drive', function () {
    const r = parseSmartctl({
      smartctl: { exit_status: 0 },
      smart_status: { passed: true },
      temperature: { current: 38 },
      power_on_time: { hours: 1234 },
      nvme_smart_health_information_log: { critical_warning: 0, media_errors: 0, percentage_used: 3 },
    }, at);
    assert.deepEqual(r, { health: 'Healthy', smart: { checkedAt: at.toISOString(), temperatureC: 38, powerOnHours: 1234, mediaErrors: 0, percentageUsed: 3 } });
  });
  it('an ATA drive with reallocated and pending sectors is a Warning', function () {
    const r = parseSmartctl({
      smartctl: { exit_status: 0 },
      smart_status: { passed: true },
      ata_smart_attributes: { table: [{ id: 5, raw: { value: 8 } }, { id: 9, raw: { value: 100 } }, { id: 197, raw: { value: 2 } }] },
    }, at);
    assert.equal(r.health, 'Warning');
    assert.equal(r.smart?.mediaErrors, 10);
  });
  it('a worn-out NVMe drive or one past an attribute threshold is a Warning', function () {
    assert.equal(parseSmartctl({ smart_status: { passed: true }, nvme_smart_health_information_log: { percentage_used: 95 } }).health, 'Warning');
    assert.equal(parseSmartctl({ smartctl: { exit_status: 32 }, smart_status: { passed: true } }).health, 'Warning');
  });
  it('a drive whose SMART status failed is Failing', function () {
    assert.equal(parseSmartctl({ smartctl: { exit_status: 8 }, smart_status: { passed: false } }).health, 'Failing');
  });
  it('a device without SMART is Unknown', function () {
    const r = parseSmartctl({ smartctl: { exit_status: 1, messages: [{ string: '/dev/vda: Unable to detect device type' }] } });
    assert.deepEqual(r, { health: 'Unknown', note: '/dev/vda: Unable to detect device type' });
  });
  it('readSmart: Unknown when smartctl is not installed', async function () {
    const r = await readSmart('/dev/null', 'loam-no-such-smartctl');
    assert.equal(r.health, 'Unknown');
    assert.match(r.note ?? '', /not available/);
  });
});
