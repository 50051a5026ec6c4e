import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { ApiException } from '@kubernetes/client-node';
import { status, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import winston from 'winston';
import { CsiError, invalidArgument, toCsiError } from '../../../src/csi/errors.js';
import { stripSecrets, unaryHandler, type CallContext, type UnaryMethod } from '../../../src/csi/interceptor.js';

/** A logger whose entries land in an array, as JSON lines would on stderr. */
function capturingLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: unknown, _encoding, next) {
      lines.push(JSON.stringify(info));
      next();
    },
  });
  return { logger: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }), lines };
}

/** Calls a handler as grpc-js would, with a call object that can be cancelled. */
function invoke<Req, Res>(fn: UnaryMethod<Req, Res>, request: Req, logger: winston.Logger, name = 'CreateVolume'): { call: EventEmitter; done: Promise<{ err: Partial<ServiceError> | null; res?: Res }> } {
  const call = Object.assign(new EventEmitter(), { request, getDeadline: () => Infinity });
  const done = new Promise<{ err: Partial<ServiceError> | null; res?: Res }>((resolve) => {
    unaryHandler('Controller', name, fn, logger)(call as unknown as ServerUnaryCall<Req, Res>, (err, res) => resolve({ err: err as Partial<ServiceError> | null, res: res ?? undefined }));
  });
  return { call, done };
}

describe('csi interceptor', () => {
  it('logs the call without the values of its secrets', async () => {
    const { logger, lines } = capturingLogger();
    const request = { name: 'pvc-1', secrets: { password: 'hunter2', token: 's3cr3t' }, nested: [{ secrets: { key: 'topsecret' } }] };
    const { done } = invoke(async () => ({ volume: { volume_id: 'pvc-1' } }), request, logger);
    const { err, res } = await done;
    assert.equal(err, null);
    assert.deepEqual(res, { volume: { volume_id: 'pvc-1' } });
    const text = lines.join('\n');
    assert.match(text, /"method":"Controller\/CreateVolume"/);
    assert.match(text, /"password":"<stripped>"/, 'the secret keys stay, so one can see which were passed');
    for (const secret of ['hunter2', 's3cr3t', 'topsecret']) assert.ok(!text.includes(secret), `${secret} must not be logged: ${text}`);
    assert.deepEqual(request.secrets, { password: 'hunter2', token: 's3cr3t' }, 'the request itself is untouched');
  });

  it('answers with the status a service threw, and logs a refusal without a stack', async () => {
    const { logger, lines } = capturingLogger();
    const { done } = invoke(async () => { throw invalidArgument('CreateVolume: name is required'); }, {}, logger);
    const { err } = await done;
    assert.equal(err?.code, status.INVALID_ARGUMENT);
    assert.equal(err?.details, 'CreateVolume: name is required');
    assert.match(lines.join('\n'), /"code":"INVALID_ARGUMENT","error":"CreateVolume: name is required".*"message":"csi call refused"/);
  });

  it('bounds the message of a refusal: a 100 kB id echoed back would not fit the HTTP/2 trailer and would stall the caller\'s connection', async () => {
    const { logger } = capturingLogger();
    const id = 'x'.repeat(100_000);
    const { done } = invoke(async () => { throw new CsiError(status.NOT_FOUND, `ControllerGetVolume: volume ${id} does not exist`); }, {}, logger, 'ControllerGetVolume');
    const { err } = await done;
    assert.equal(err?.code, status.NOT_FOUND);
    assert.ok(err!.details!.length <= 1024, `details of ${err!.details!.length} characters`);
    assert.match(err!.details!, /^ControllerGetVolume: volume x+… \(99\d{3} more characters\)$/);
  });

  it('turns a bug (a TypeError, even thrown synchronously) into INTERNAL, logged as an error', async () => {
    const { logger, lines } = capturingLogger();
    const { done } = invoke(((req: { parameters: Record<string, string> | null }) => {
      return Promise.resolve(req.parameters!.poolClass);
    }) as UnaryMethod<{ parameters: Record<string, string> | null }, string>, { parameters: null }, logger);
    const { err } = await done;
    assert.equal(err?.code, status.INTERNAL);
    assert.match(err!.details!, /Cannot read properties of null/);
    const sync = invoke((() => { throw new Error('thrown before any await'); }) as UnaryMethod<object, object>, {}, logger);
    assert.equal((await sync.done).err?.code, status.INTERNAL);
    assert.match(lines.join('\n'), /"code":"INTERNAL","error":"thrown before any await".*"stack":"Error: thrown before any await.*"level":"error","message":"csi call failed"/);
  });

  it('fires the method\'s AbortSignal when the caller cancels', async () => {
    const { logger } = capturingLogger();
    let seen: CallContext | undefined;
    const { call, done } = invoke((_req, ctx) => {
      seen = ctx;
      return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    }, {}, logger);
    await new Promise((resolve) => setImmediate(resolve));
    call.emit('cancelled');
    const { err } = await done;
    assert.equal(seen?.signal.aborted, true);
    assert.equal(err?.code, status.CANCELLED);
  });

  it('logs frequent calls (Probe) at debug only', async () => {
    const { logger, lines } = capturingLogger();
    logger.level = 'info';
    await invoke(async () => ({ ready: { value: true } }), {}, logger, 'Probe').done;
    assert.deepEqual(lines, []);
  });
});

describe('csi error mapping', () => {
  const apiError = (code: number, reason: string): ApiException<string> => new ApiException(code, `HTTP-Code: ${code}\nMessage: x`, JSON.stringify({ kind: 'Status', code, reason, message: `the server says ${reason}` }), {});

  it('maps API server answers to the codes a sidecar retries or shows', () => {
    assert.equal(toCsiError(apiError(404, 'NotFound')).code, status.NOT_FOUND);
    assert.equal(toCsiError(apiError(409, 'Conflict')).code, status.ABORTED);
    assert.equal(toCsiError(apiError(422, 'Invalid')).code, status.INVALID_ARGUMENT);
    assert.equal(toCsiError(apiError(503, 'ServiceUnavailable')).code, status.UNAVAILABLE);
    assert.equal(toCsiError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).code, status.UNAVAILABLE);
    assert.match(toCsiError(apiError(422, 'Invalid')).details, /Kubernetes API: 422 Invalid: the server says Invalid/);
  });

  it('keeps a status already set, and maps aborts and deadlines', () => {
    const e = new CsiError(status.RESOURCE_EXHAUSTED, 'no SSD pool has room');
    assert.equal(toCsiError(e), e);
    assert.equal(toCsiError({ code: status.NOT_FOUND, details: 'gone', message: 'gone' }).code, status.NOT_FOUND);
    assert.equal(toCsiError(new DOMException('x', 'AbortError')).code, status.CANCELLED);
    assert.equal(toCsiError(new DOMException('x', 'TimeoutError')).code, status.DEADLINE_EXCEEDED);
    assert.equal(toCsiError('a string').code, status.INTERNAL);
  });

  it('strips secrets at any depth', () => {
    assert.deepEqual(stripSecrets({ a: { secrets: { k: 'v' } }, secrets: {} }), { a: { secrets: { k: '<stripped>' } }, secrets: {} });
  });
});
