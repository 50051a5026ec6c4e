/**
 * Two VMs, each on both of its networks at once: a private Ethernet link between them (carried on
 * host loopback) and user-mode networking that reaches exactly one host service, the test API
 * server, as https://10.0.2.100:6443. They exchange traffic over the link, replicate a DRBD volume
 * over it, and from inside the guests kubectl talks to the API server and registers a Node per VM.
 */
import assert from 'node:assert/strict';
import { ControlPlane } from '../../tools/testenv/controlplane.js';
import { waitFor } from '../../tools/testenv/wait.js';
import { guestKubectl, installGuestKubeconfig } from './harness/cluster.js';
import { noteFigure } from './harness/figures.js';
import { describeLoad, measureLoad } from './harness/load.js';
import { apiServerGuestAddress, hostPart, makePrivateLink } from './harness/network.js';
import { Vm } from './harness/vm.js';

const MiB = 1024 ** 2;

describe('e2e: two VMs on a private link, with the host API server', function () {
  let cp: ControlPlane | undefined;
  let a: Vm;
  let b: Vm;
  let kubectl: string;
  const addressA = '10.99.0.1/24';
  const addressB = '10.99.0.2/24';

  before(async function () {
    cp = await ControlPlane.start({ extraServingIps: [apiServerGuestAddress] });
    kubectl = guestKubectl(cp);
    const [endA, endB] = await makePrivateLink([addressA, addressB]);
    const disks = [{ id: 'drbd0', sizeBytes: 64 * MiB }];
    // Both boot at once; b's QEMU waits until a's end of the link listens.
    const booted = await Promise.allSettled([
      Vm.start({ name: 'node-a', apiServerPort: cp.apiPort, link: endA, disks }),
      Vm.start({ name: 'node-b', apiServerPort: cp.apiPort, link: endB, disks }),
    ]);
    const failed = booted.find((r) => r.status === 'rejected');
    if (failed) {
      await Promise.all(booted.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
      throw failed.reason;
    }
    [a, b] = booted.map((r) => (r as PromiseFulfilledResult<Vm>).value) as [Vm, Vm];
    for (const vm of [a, b]) await installGuestKubeconfig(vm, cp);

    const idle = await measureLoad([a, b], () => new Promise((r) => setTimeout(r, 5000)));
    noteFigure('CPU, two idle VMs', describeLoad(idle.load));
  });

  after(async function () {
    await Promise.all([a?.stop(), b?.stop()]);
    await cp?.stop();
  });

  it('puts each guest on both networks: user-mode to the API server and the private link', async function () {
    for (const [vm, link] of [[a, addressA], [b, addressB]] as const) {
      const addresses = (await vm.runOk("ip -o -4 addr show | awk '{print $4}'")).split('\n');
      assert.ok(addresses.includes('10.0.2.15/24'), `${vm.name} has its user-mode address (${addresses.join(' ')})`);
      assert.ok(addresses.includes(link), `${vm.name} has its link address ${link}`);
      // No default route: the guest reaches its two subnets and nothing else.
      assert.equal((await vm.runOk('ip route show default')).trim(), '');
    }
  });

  it('exchanges traffic over the private link while a guest also talks to the API server', async function () {
    assert.match(await a.runOk(`busybox ping -c 3 -W 5 ${hostPart(addressB)}`), /3 packets transmitted, 3 packets received/);
    assert.match(await b.runOk(`busybox ping -c 3 -W 5 ${hostPart(addressA)}`), /3 packets transmitted, 3 packets received/);

    // b receives one TCP stream of 16 MiB from a and writes the checksum of what it got.
    await b.startBackground(`socat -u TCP-LISTEN:5000,bind=${hostPart(addressB)},reuseaddr OPEN:/tmp/received,creat,trunc && sha256sum < /tmp/received > /tmp/received.sha256`, '/tmp/receiver.log');
    await b.runOk('for i in $(seq 100); do ss -Hltn "sport = :5000" | grep -q . && exit 0; sleep 0.1; done; exit 1');
    const sent = await a.runOk('head -c 16M /dev/urandom > /tmp/sent && sha256sum < /tmp/sent');
    let transferMs = 0;
    const { result: readyz, load } = await measureLoad([a, b], async () => {
      const started = Date.now();
      const [, ready] = await Promise.all([
        a.runOk(`socat -u OPEN:/tmp/sent TCP:${hostPart(addressB)}:5000`, { timeoutMs: 120_000 }).then(() => { transferMs = Date.now() - started; }),
        // At the same time, over the other network: the API server answers the same guest.
        a.runOk(`${kubectl} get --raw /readyz`),
      ]);
      return ready;
    });
    assert.equal(readyz.trim(), 'ok');
    let received = '';
    await waitFor('the receiver to finish', async () => {
      received = (await b.runScript('cat /tmp/received.sha256')).stdout;
      return received !== '';
    }, 30_000, 250);
    assert.equal(received, sent);
    noteFigure('CPU, two VMs moving 16 MiB over the link', describeLoad(load));
    console.log(`      16 MiB over the link in ${(transferMs / 1000).toFixed(1)} s; ${describeLoad(load)}`);
  });

  it('reaches the API server from both guests as https://10.0.2.100:6443 and nothing else on the host', async function () {
    for (const vm of [a, b]) {
      assert.equal((await vm.runOk(`${kubectl} get --raw /readyz`)).trim(), 'ok');
      assert.equal(await vm.runOk(`${kubectl} config view -o jsonpath='{.clusters[0].cluster.server}'`), 'https://10.0.2.100:6443');
    }
    // The API server's real port, through QEMU's gateway address: blocked by restrict=on.
    const direct = await a.runScript(`timeout 5 bash -c '</dev/tcp/10.0.2.2/${cp!.apiPort}'`);
    assert.notEqual(direct.exitCode, 0, 'a direct connection to the host is refused or times out');
  });

  it('creates a Node object for each VM through the API server, seen from the host', async function () {
    for (const vm of [a, b]) {
      // The name comes from inside the guest: its hostname is the VM name.
      await vm.runOk(`name=$(hostname)
${kubectl} apply -f - <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $name
  labels:
    kubernetes.io/hostname: $name
    topology.loam.io/node: $name
EOF`);
    }
    const r = await cp!.kubectl(['get', 'nodes', '-l', 'topology.loam.io/node', '-o', 'jsonpath={.items[*].metadata.name}']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.split(' ').sort(), ['node-a', 'node-b']);
  });

  it('replicates a DRBD volume over the private link: what a writes, b reads after a failover', async function () {
    const resource = (diskA: string, diskB: string): string => `resource r0 {
  protocol C;
  device /dev/drbd0;
  meta-disk internal;
  # A fixed, high resync rate: the default controller starts slowly, and the link is local.
  disk { c-plan-ahead 0; resync-rate 100M; }
  on node-a { address ${hostPart(addressA)}:7789; disk /dev/${diskA}; }
  on node-b { address ${hostPart(addressB)}:7789; disk /dev/${diskB}; }
}
`;
    const config = resource((await a.deviceWithSerial('drbd0'))!, (await b.deviceWithSerial('drbd0'))!);
    for (const vm of [a, b]) {
      await vm.writeFile('/etc/drbd.d/r0.res', config);
      await vm.runOk('drbdadm create-md --force r0 && drbdadm up r0');
    }
    const { result: syncSeconds, load } = await measureLoad([a, b], async () => {
      const started = Date.now();
      await waitFor('DRBD to connect over the link', async () => (await a.runOk('drbdadm cstate r0')).trim() === 'Connected', 60_000, 500);
      await a.runOk('drbdadm primary --force r0');
      await waitFor('the initial sync to finish', async () => (await a.runOk('drbdadm dstate r0')).trim() === 'UpToDate/UpToDate', 120_000, 500);
      return (Date.now() - started) / 1000;
    });
    noteFigure('DRBD connect + initial sync of 64 MiB', `${syncSeconds.toFixed(1)} s`);
    noteFigure('CPU, two VMs during the DRBD sync', describeLoad(load));

    const written = await a.runOk([
      'set -e',
      'mkfs.ext4 -q /dev/drbd0',
      'mkdir -p /mnt/r0 && mount /dev/drbd0 /mnt/r0',
      'head -c 8M /dev/urandom > /mnt/r0/data',
      'sha256sum < /mnt/r0/data',
      'umount /mnt/r0',
      'drbdadm secondary r0',
    ].join('\n'));
    const read = await b.runOk([
      'set -e',
      'drbdadm primary r0',
      'mkdir -p /mnt/r0 && mount /dev/drbd0 /mnt/r0',
      'sha256sum < /mnt/r0/data',
      'umount /mnt/r0',
    ].join('\n'));
    assert.equal(read, written);
    assert.match(await b.runOk('drbdadm role r0'), /^Primary\/Secondary$/m);
  });
});
