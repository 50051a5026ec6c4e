/**
 * CSI calls from the command line, for tests that must call a socket inside a VM:
 *   node dist/test/sanity/guest/csi-call.js [--keep-going] <socket> <Identity|Controller|Node> <Method> '<json>' [<Method> '<json>' ...]
 * Several calls share one process, because starting node in a TCG guest takes seconds.
 * Prints each response as one JSON line; at the first gRPC error prints {"method": "...", "code": "...",
 * "details": "..."} and exits 3 — or, with --keep-going, prints that line and goes on with the next
 * call (for a test that expects refusals among its calls), exiting 0.
 */
import * as grpc from '@grpc/grpc-js';
import { csiGrpcObject } from '../../../src/csi/server.js';

type Unary = (req: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const keepGoing = argv[0] === '--keep-going';
  const [socket, service, ...calls] = keepGoing ? argv.slice(1) : argv;
  if (!socket || !service || calls.length === 0 || calls.length % 2 !== 0) {
    console.error('usage: csi-call.ts <socket> <Identity|Controller|Node> <Method> <json request> [<Method> <json request> ...]');
    return 2;
  }
  const v1 = csiGrpcObject().csi.v1;
  const Client = service === 'Node' ? v1.Node : service === 'Controller' ? v1.Controller : v1.Identity;
  const client = new Client(`unix:${socket}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
  try {
    for (let i = 0; i < calls.length; i += 2) {
      const method = calls[i]!;
      const fn = client[method];
      if (typeof fn !== 'function') {
        console.error(`${service} has no method ${method}`);
        return 2;
      }
      try {
        const res = await new Promise<unknown>((resolve, reject) => fn.call(client, JSON.parse(calls[i + 1]!) as object, (err, r) => (err ? reject(err) : resolve(r))));
        console.log(JSON.stringify(res));
      } catch (err) {
        const e = err as grpc.ServiceError;
        console.log(JSON.stringify({ method, code: grpc.status[e.code], details: e.details }));
        if (!keepGoing) return 3;
      }
    }
    return 0;
  } finally {
    client.close();
  }
}

process.exitCode = await main();
