import assert from 'node:assert/strict';
import { formatCapacity, localDiskName } from '../../../src/api/index.js';
import { validObject, validObjects } from '../../unit/api/objects.js';
import { controlPlane } from '../setup.js';
import { labelSelector, useLoamTestClient } from './client.js';

/** Splits kubectl's table output into rows of cells, cut where the header's columns start (an empty cell stays ''). */
function table(stdout: string): string[][] {
  const lines = stdout.trimEnd().split('\n');
  const starts = [...lines[0]!.matchAll(/\S+/g)].map((m) => m.index);
  return lines.map((line) => starts.map((start, i) => line.slice(start, starts[i + 1]).trim()));
}

async function kubectl(args: string[]): Promise<string> {
  const r = await controlPlane().kubectl(args);
  assert.equal(r.exitCode, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

describe('api: what kubectl shows', function () {
  this.timeout(60_000);
  const client = useLoamTestClient();

  it('kubectl get localdisks prints NODE, DEVICE, CLASS, CAPACITY, STATE, HEALTH, CLAIM, AGE with real values', async () => {
    const claimed = validObject('kc', 'LocalDisk');
    const free = validObject('kc', 'LocalDisk');
    free.metadata.name = localDiskName('kc-node', 'nvme-eui.0025388b91b2c3d4');
    free.spec = { nodeName: 'kc-node', devicePath: '/dev/nvme0n1', capacityBytes: 960197124096, mediaClass: 'NVMe' };
    free.status = { state: 'Available', health: 'Unknown', capacity: formatCapacity(960197124096) };
    await client().createWithStatus(claimed);
    await client().createWithStatus(free);

    const rows = table(await kubectl(['get', 'localdisks', '-l', labelSelector(), '--sort-by=.spec.devicePath']));
    assert.deepEqual(rows[0], ['NAME', 'NODE', 'DEVICE', 'CLASS', 'CAPACITY', 'STATE', 'HEALTH', 'CLAIM', 'AGE']);
    assert.equal(rows.length, 3);
    // AGE is a duration such as 1s; everything before it is exact.
    assert.deepEqual(rows[1]!.slice(0, 8), [free.metadata.name, 'kc-node', '/dev/nvme0n1', 'NVMe', '894.3Gi', 'Available', 'Unknown', '']);
    assert.deepEqual(rows[2]!.slice(0, 8), [claimed.metadata.name, 'kc-node', '/dev/sdb', 'HDD', '1.8Ti', 'Claimed', 'Healthy', 'kc-claim']);
    assert.match(rows[1]![8]!, /^\d+s$/);

    const wide = table(await kubectl(['get', 'ld', '-l', labelSelector(), '-o', 'wide', '--sort-by=.spec.devicePath']));
    assert.deepEqual(wide[0]!.slice(-2), ['REASON', 'SERIAL']);
  });

  it('kubectl get loam lists objects of every kind', async () => {
    for (const obj of validObjects('kcall')) await client().create(obj);
    const names = (await kubectl(['get', 'loam', '-l', labelSelector(), '-o', 'name'])).trim().split('\n');
    for (const obj of validObjects('kcall')) {
      assert.ok(names.includes(`${obj.kind.toLowerCase()}.loam.io/${obj.metadata.name}`), `${obj.kind} ${obj.metadata.name} missing from ${names.join(' ')}`);
    }
  });

  it('short names reach every kind, with the columns of the design', async () => {
    const headers: Record<string, string[]> = {
      ldc: ['NAME', 'NODE', 'OWNER', 'CLASS', 'PHASE', 'CAPACITY', 'AGE'],
      ldn: ['NAME', 'NODE', 'DISKS', 'AVAILABLE', 'INUSE', 'OFFLINE', 'HEARTBEAT', 'AGE'],
      lsn: ['NAME', 'NODE', 'STATE', 'POOLS', 'FREE', 'AGE'],
      lv: ['NAME', 'POOL', 'CAPACITY', 'REPLICAS', 'STATE', 'NODES', 'AGE'],
      lvr: ['NAME', 'VOLUME', 'NODE', 'POOL', 'CAPACITY', 'STATE', 'SYNCED', 'AGE'],
    };
    for (const obj of validObjects('kcs')) if (obj.kind !== 'LocalDisk') await client().createWithStatus(obj);
    for (const [short, header] of Object.entries(headers)) {
      const rows = table(await kubectl(['get', short, '-l', labelSelector()]));
      assert.deepEqual(rows[0], header, short);
      assert.ok(rows.length >= 2, `${short} lists nothing`);
    }
    const lsn = table(await kubectl(['get', 'lsn', 'kcs-node']));
    assert.deepEqual(lsn[1]!.slice(0, 5), ['kcs-node', 'kcs-node', 'Ready', 'HDD', '1.8Ti']);
    const lv = table(await kubectl(['get', 'lv', 'pvc-kcs']));
    assert.deepEqual(lv[1]!.slice(0, 6), ['pvc-kcs', 'HDD', '10Gi', '2', 'Ready', 'kcs-node,kcs-node2']);
  });

  it('kubectl explain localdisk.spec.mediaClass prints its description and values', async () => {
    const out = await kubectl(['explain', 'localdisk.spec.mediaClass']);
    assert.match(out, /FIELD: mediaClass <string>/);
    assert.match(out.replace(/\s+/g, ' '), /Media class of the disk: HDD \(rotational\), SSD \(non-rotational SCSI, SATA or virtio\) or NVMe \(NVMe transport\)\./);
    assert.match(out, /ENUM:\s+HDD\s+SSD\s+NVMe/);
  });
});
