/**
 * The only two networks a test VM gets:
 * - user-mode networking with `restrict=on` and one `guestfwd`: the guest's 10.0.2.100:6443 reaches
 *   one TCP service on the host's loopback (the test API server); nothing else is reachable;
 * - a private link between two VMs, an Ethernet carried over a TCP connection on 127.0.0.1
 *   (`-netdev socket`, one side listens, the other connects).
 */
import { readFile } from 'node:fs/promises';
import { freePort } from '../../../tools/testenv/ports.js';

/** The address and port under which a guest reaches the forwarded host service. */
export const apiServerGuestAddress = '10.0.2.100';
export const apiServerGuestPort = 6443;
export const apiServerGuestUrl = `https://${apiServerGuestAddress}:${apiServerGuestPort}`;

export interface LinkEnd {
  role: 'listen' | 'connect';
  /** TCP port on 127.0.0.1 that carries the link. */
  port: number;
  /** The guest's address on the link, with prefix (e.g. 10.99.0.1/24). */
  address: string;
}

/** A private link for two VMs: give `ends[0]` to the VM started first. */
export async function makePrivateLink(addresses: [string, string] = ['10.99.0.1/24', '10.99.0.2/24']): Promise<[LinkEnd, LinkEnd]> {
  const port = await freePort();
  return [
    { role: 'listen', port, address: addresses[0] },
    { role: 'connect', port, address: addresses[1] },
  ];
}

/** Address without prefix: 10.99.0.1/24 -> 10.99.0.1. */
export function hostPart(address: string): string {
  return address.split('/')[0] ?? address;
}

/** A host loopback port forwarded into the guest (QEMU `hostfwd`): the host connects to 127.0.0.1 only. */
export interface HostForward {
  hostPort: number;
  guestPort: number;
}

/**
 * QEMU arguments for the user-mode NIC that forwards the guest's API server address to `hostPort`,
 * and `hostForwards` from host loopback into the guest (`restrict=on` leaves explicit forwards working).
 */
export function userNetArgs(hostPort: number, mac: string, hostForwards: HostForward[] = []): string[] {
  // socat per connection (`cmd:`): a `tcp:` target would connect once only, at QEMU start.
  // Under its own port too: a cluster-mode API server advertises that port in the `kubernetes`
  // Service's endpoint, which pods reach through kube-proxy.
  const ports = [...new Set([apiServerGuestPort, hostPort])];
  const forwards = ports.map((port) => `guestfwd=tcp:${apiServerGuestAddress}:${port}-cmd:socat - TCP:127.0.0.1:${hostPort}`);
  forwards.push(...hostForwards.map((f) => `hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`));
  return [
    '-netdev', `user,id=user0,restrict=on,${forwards.join(',')}`,
    '-device', `virtio-net-pci,netdev=user0,mac=${mac},romfile=`,
  ];
}

/** QEMU arguments for this VM's end of a private link. */
export function linkArgs(end: LinkEnd, mac: string): string[] {
  return [
    '-netdev', `socket,id=link0,${end.role}=127.0.0.1:${end.port}`,
    '-device', `virtio-net-pci,netdev=link0,mac=${mac},romfile=`,
  ];
}

/** True when a socket on 127.0.0.1 listens on `port` (read from /proc, without connecting to it). */
export async function isListening(port: number): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const table = await readFile('/proc/net/tcp', 'utf8');
  // Columns: sl local_address rem_address st ...; state 0A is LISTEN; 0100007F is 127.0.0.1.
  return table.split('\n').some((line) => {
    const cols = line.trim().split(/\s+/);
    return cols[1] === `0100007F:${hexPort}` && cols[3] === '0A';
  });
}
