/**
 * A small QMP client (QEMU's JSON machine protocol) on the unix socket QEMU serves with
 * `-qmp unix:<path>,server=on,wait=off`: capability negotiation, commands with ids, and events kept
 * so a caller can wait for one (DEVICE_DELETED after an unplug, say).
 */
import net from 'node:net';
import { StopWaiting, waitFor } from '../../../tools/testenv/wait.js';
import { connectQemuSocket } from './socket.js';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  command: string;
}

export class QmpClient {
  private buffered = '';
  private nextId = 1;
  private readonly waiting = new Map<string, Waiting>();
  private readonly events: QmpEvent[] = [];
  private closedError?: Error;

  private constructor(private readonly socket: net.Socket, private readonly name: string) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.failAll(new Error(`the QMP connection of VM ${name} closed`)));
    socket.on('error', (err) => this.failAll(new Error(`the QMP connection of VM ${name} failed`, { cause: err })));
  }

  /** Connects (retrying while QEMU creates the socket) and leaves capability negotiation mode. */
  static async connect(socketPath: string, name: string, alive: () => boolean): Promise<QmpClient> {
    const socket = await connectQemuSocket(socketPath, `the QMP socket of VM ${name}`, alive, 30_000);
    const client = new QmpClient(socket, name);
    await client.execute('qmp_capabilities');
    return client;
  }

  /** Runs one QMP command; rejects with QEMU's error description. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = `loam-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, command });
      this.socket.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  /** Waits for an event (one already received counts) matching `name` and `match`, and consumes it. */
  async waitForEvent(name: string, match: (e: QmpEvent) => boolean, timeoutMs: number): Promise<QmpEvent> {
    let found: QmpEvent | undefined;
    await waitFor(`QMP event ${name} from VM ${this.name}`, () => {
      const i = this.events.findIndex((e) => e.event === name && match(e));
      if (i < 0) {
        if (this.closedError) throw new StopWaiting(this.closedError.message);
        return false;
      }
      found = this.events.splice(i, 1)[0];
      return true;
    }, timeoutMs, 50);
    return found!;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.onMessage(JSON.parse(line) as Record<string, unknown>);
    }
  }

  private onMessage(msg: Record<string, unknown>): void {
    if (typeof msg.event === 'string') {
      this.events.push(msg as unknown as QmpEvent);
      return;
    }
    const id = msg.id as string | undefined;
    const w = id === undefined ? undefined : this.waiting.get(id);
    if (!w || id === undefined) return;
    this.waiting.delete(id);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      w.reject(new Error(`QMP ${w.command} on VM ${this.name} failed: ${e.class ?? ''} ${e.desc ?? ''}`.trim()));
    } else {
      w.resolve(msg.return);
    }
  }

  private failAll(err: Error): void {
    this.closedError ??= err;
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.reject(err);
    }
  }
}
