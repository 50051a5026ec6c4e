/**
 * The one place every CSI call passes through: it turns a service's async method into a grpc-js
 * handler, logs the call with secrets stripped, hands the method an AbortSignal that fires when the
 * CO cancels the call or its deadline passes, and maps whatever the method throws to a gRPC status
 * (`toCsiError`). The services stay plain async functions, testable without gRPC.
 */
import { status, type handleUnaryCall, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import { toCsiError } from './errors.js';

/** What a service method gets besides its request. */
export interface CallContext {
  /** `<Service>/<Method>`, e.g. Controller/CreateVolume. */
  method: string;
  /** Fires when the CO cancels the call or its deadline passes; work in progress should stop. */
  signal: AbortSignal;
  /** The call's deadline (ms since the epoch), Infinity when the CO set none. */
  deadline: number;
  log: Logger;
}

export type UnaryMethod<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/**
 * A service as async methods, derived from proto-loader's generated handler interface (e.g.
 * `AsyncService<ControllerHandlers>`). Methods left out answer UNIMPLEMENTED.
 */
export type AsyncService<H> = {
  [K in keyof H as string extends K ? never : K]?: H[K] extends handleUnaryCall<infer Req, infer Res> ? UnaryMethod<Req, Res> : never;
};

/** Field name of every secret in the CSI messages. */
const secretField = 'secrets';
export const strippedSecret = '<stripped>';

/** A copy of `value` in which every `secrets` map keeps its keys but loses its values. */
export function stripSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => stripSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === secretField && typeof v === 'object' && v !== null) out[k] = Object.fromEntries(Object.keys(v).map((s) => [s, strippedSecret]));
    else out[k] = stripSecrets(v, depth + 1);
  }
  return out;
}

/**
 * Calls the kubelet and sidecars make every few seconds, and ListVolumes (its answer can hold every
 * volume): logged at debug so they do not drown the rest.
 */
const frequentMethods = new Set(['Probe', 'GetPluginInfo', 'GetPluginCapabilities', 'ControllerGetCapabilities', 'NodeGetCapabilities', 'GetCapacity', 'NodeGetVolumeStats', 'ListVolumes']);

/** Codes that are a normal answer to the caller (retry later, or the caller's mistake), not a fault of ours. */
const expectedCodes = new Set<status>([status.INVALID_ARGUMENT, status.NOT_FOUND, status.ALREADY_EXISTS, status.ABORTED, status.RESOURCE_EXHAUSTED, status.OUT_OF_RANGE, status.FAILED_PRECONDITION, status.CANCELLED, status.DEADLINE_EXCEEDED, status.UNIMPLEMENTED]);

/**
 * Longest message an error carries. grpc-js sends it in the `grpc-message` trailer, and a message
 * that echoes a 100 kB field (a hostile volume id) exceeds the HTTP/2 header limit: the caller's
 * connection then stalls until its deadline, for every call on it.
 */
export const maxErrorDetails = 1024;

/** `details` cut to `maxErrorDetails` characters, saying how much was left out. */
export function boundedDetails(details: string): string {
  if (details.length <= maxErrorDetails) return details;
  // 40 characters are room enough for the note on what was cut.
  const kept = maxErrorDetails - 40;
  return `${details.slice(0, kept)}… (${details.length - kept} more characters)`;
}

/** The grpc-js handler of one method. */
export function unaryHandler<Req, Res>(service: string, name: string, fn: UnaryMethod<Req, Res>, logger: Logger): handleUnaryCall<Req, Res> {
  const method = `${service}/${name}`;
  const quiet = frequentMethods.has(name);
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const started = Date.now();
    const log = logger.child({ method });
    const aborter = new AbortController();
    const deadlineValue = call.getDeadline();
    const deadline = deadlineValue instanceof Date ? deadlineValue.getTime() : typeof deadlineValue === 'number' ? deadlineValue : Infinity;
    const timer = Number.isFinite(deadline) ? setTimeout(() => aborter.abort(new DOMException(`${method}: the call's deadline passed`, 'TimeoutError')), Math.max(0, deadline - Date.now())) : undefined;
    call.on('cancelled', () => aborter.abort(new DOMException(`${method}: the caller cancelled the call`, 'AbortError')));
    log.log(quiet ? 'debug' : 'info', 'csi call', { request: stripSecrets(call.request) });
    const ctx: CallContext = { method, signal: aborter.signal, deadline, log };
    // Promise.resolve().then: a method that throws synchronously is answered like one that rejects.
    Promise.resolve()
      .then(() => fn(call.request, ctx))
      .then(
        (response) => {
          log.log(quiet ? 'debug' : 'info', 'csi call done', { durationMs: Date.now() - started, response: stripSecrets(response) });
          callback(null, response);
        },
        (err: unknown) => {
          const e = toCsiError(err);
          const details = boundedDetails(e.details);
          const meta = { code: status[e.code], error: details, durationMs: Date.now() - started };
          if (expectedCodes.has(e.code)) log.log(quiet ? 'debug' : 'info', 'csi call refused', meta);
          else log.error('csi call failed', { ...meta, stack: err instanceof Error ? err.stack : undefined });
          callback({ code: e.code, details });
        },
      )
      .finally(() => clearTimeout(timer));
  };
}

/** Handlers for the methods of `definition` that `impl` has (own or inherited); the others are answered UNIMPLEMENTED by grpc-js. */
export function serviceHandlers(service: string, definition: ServiceDefinition, impl: object, logger: Logger): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  for (const name of Object.keys(definition)) {
    const fn = (impl as Record<string, unknown>)[name];
    if (typeof fn !== 'function') continue;
    handlers[name] = unaryHandler(service, name, (req: unknown, ctx) => (fn as UnaryMethod<unknown, unknown>).call(impl, req, ctx), logger);
  }
  return handlers;
}
