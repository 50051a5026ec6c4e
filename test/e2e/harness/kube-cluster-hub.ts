/**
 * The VM cluster's private network for any number of nodes: an Ethernet hub on host loopback. QEMU's
 * listening socket netdev takes one peer only, so every node's QEMU connects
 * (`-netdev socket,connect=127.0.0.1:<port>`) to this hub instead, and the hub repeats each frame to
 * every other node. QEMU frames its socket netdev traffic as a 4-byte big-endian length followed by
 * the Ethernet frame; the hub passes those records on whole. Nothing leaves loopback.
 */
import net from 'node:net';
import type { LinkEnd } from './network.js';

export class LinkHub {
  private readonly peers = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number) {}

  /** Listens on a free port of 127.0.0.1. */
  static async start(): Promise<LinkHub> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const hub = new LinkHub(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (socket) => hub.attach(socket));
    return hub;
  }

  /** A VM's end of the hub, with its address on the private network (e.g. 10.99.0.3/24). */
  end(address: string): LinkEnd {
    return { role: 'connect', port: this.port, address };
  }

  /** Stops listening and drops every connection (after the VMs have stopped). */
  async close(): Promise<void> {
    for (const peer of this.peers) peer.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.peers.add(socket);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      while (pending.length - offset >= 4) {
        const end = offset + 4 + pending.readUInt32BE(offset);
        if (pending.length < end) break;
        const record = pending.subarray(offset, end);
        for (const peer of this.peers) if (peer !== socket) peer.write(record);
        offset = end;
      }
      pending = pending.subarray(offset);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.peers.delete(socket));
  }
}
