/**
 * A CSI Identity client of the process's own socket, for its liveness check: the probe goes over
 * the socket as the kubelet's and the sidecars' calls do, with a short deadline, so a gRPC server
 * that no longer answers fails liveness even while the rest of the process looks alive.
 */
import * as grpc from '@grpc/grpc-js';
import type { IdentityClient } from './generated/csi/v1/Identity.js';
import { csiGrpcObject, socketPathOf } from './server.js';

export class IdentityProbe {
  private readonly client: IdentityClient;

  constructor(endpoint: string) {
    this.client = new (csiGrpcObject().csi.v1.Identity)(`unix:${socketPathOf(endpoint)}`, grpc.credentials.createInsecure());
  }

  /** Calls Probe; resolves with its `ready`, rejects with the gRPC error (no answer within `timeoutMs`: DEADLINE_EXCEEDED). */
  probe(timeoutMs = 3_000): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.Probe({}, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new Error(`CSI Probe on the plugin's socket failed: ${err.details || err.message}`, { cause: err }));
        else resolve(res?.ready?.value === true);
      });
    });
  }

  /** The liveness check: undefined when Probe answers (ready or not), else why not. */
  async answers(timeoutMs?: number): Promise<string | undefined> {
    try {
      await this.probe(timeoutMs);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  close(): void {
    this.client.close();
  }
}
