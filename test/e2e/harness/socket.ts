import net from 'node:net';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';

/**
 * Connects to a unix socket that QEMU creates while it starts, retrying until it accepts; stops at
 * once when QEMU has exited (`alive` false), since the socket can then never come.
 */
export async function connectQemuSocket(socketPath: string, what: string, alive: () => boolean, timeoutMs: number): Promise<net.Socket> {
  let socket: net.Socket | undefined;
  await waitFor(what, async () => {
    if (!alive()) throw new StopWaiting(`QEMU exited before ${what} accepted a connection`);
    socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    return socket !== undefined;
  }, timeoutMs, 50);
  return socket!;
}
