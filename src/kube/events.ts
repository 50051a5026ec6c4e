/**
 * Records `events.k8s.io/v1` Events about objects, as a named controller instance. A repeat of the
 * same event (same object, type, reason, action and note) within the series window does not make
 * a new Event: it bumps `series.count` and `series.lastObservedTime` of the first one, so a
 * controller that retries in a loop leaves one Event with a count instead of hundreds.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { componentLogger } from '../common/logger.js';
import type { KubeClients } from './client.js';
import { apiErrorMessage, isNotFound } from './errors.js';
import { coreResources, resourcePath } from './resource.js';
import { microTime } from './time.js';

const log = componentLogger('kube-events');

export type EventType = 'Normal' | 'Warning';

export interface EventInput {
  type: EventType;
  /** Why, in UpperCamelCase (e.g. `DiskClaimed`). */
  reason: string;
  /** What was done or failed, in UpperCamelCase (e.g. `Bind`). */
  action: string;
  /** For a person; at most 1 kB. */
  note?: string;
  /** A second object involved (e.g. the claim of a disk). */
  related?: KubernetesObject;
}

export interface EventRecorderOptions {
  /** Who reports, e.g. `loam.io/ldm-controller`. */
  reportingController: string;
  /** Which instance, e.g. the pod or node name. */
  reportingInstance: string;
  /** Repeats within this window join a series (default 6 min, like client-go). */
  seriesWindowMs?: number;
}

interface SeriesEntry {
  namespace: string;
  name: string;
  count: number;
  firstAt: number;
  lastAt: number;
  /** Writes of one series go one after another, so a burst cannot create two Events. */
  chain: Promise<unknown>;
}

interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

const maxNoteBytes = 1024;

export class EventRecorder {
  private readonly series = new Map<string, SeriesEntry>();
  private readonly windowMs: number;

  constructor(private readonly clients: Pick<KubeClients, 'rest'>, private readonly opts: EventRecorderOptions) {
    this.windowMs = opts.seriesWindowMs ?? 6 * 60_000;
  }

  /**
   * Records an event about `regarding` (which needs apiVersion, kind and metadata.name). Best
   * effort, as events are: a failure is logged and the promise resolves to undefined; otherwise
   * it resolves to the Event's name.
   */
  record(regarding: KubernetesObject, input: EventInput): Promise<string | undefined> {
    const ref = objectReference(regarding);
    const key = [ref.namespace, ref.kind, ref.name, ref.uid, input.type, input.reason, input.action, input.note].join('\u0000');
    const now = Date.now();
    this.forgetOld(now);
    let entry = this.series.get(key);
    if (!entry || now - entry.lastAt > this.windowMs) {
      // Events about cluster-scoped objects go to `default`, as client-go does.
      entry = { namespace: ref.namespace || 'default', name: eventName(ref.name!), count: 0, firstAt: now, lastAt: now, chain: Promise.resolve() };
      this.series.set(key, entry);
    }
    const e = entry;
    e.lastAt = now;
    const write = e.chain.then(() => this.write(e, ref, input));
    e.chain = write.catch(() => undefined);
    return write.then(
      () => e.name,
      (err: unknown) => {
        log.warn('could not record event', { reason: input.reason, object: `${ref.kind}/${ref.name}`, error: apiErrorMessage(err) });
        return undefined;
      },
    );
  }

  private async write(e: SeriesEntry, ref: ObjectReference, input: EventInput): Promise<void> {
    const path = resourcePath(coreResources.events, e.namespace, e.name);
    if (e.count > 0) {
      const series = { count: e.count + 1, lastObservedTime: microTime() };
      try {
        await this.clients.rest.request('PATCH', path, { body: { series }, contentType: 'application/merge-patch+json' });
        e.count++;
        return;
      } catch (err) {
        // The Event expired (TTL) or was deleted: start over with a new one.
        if (!isNotFound(err)) throw err;
        e.count = 0;
        e.name = eventName(ref.name!);
      }
    }
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: e.name, namespace: e.namespace },
      eventTime: microTime(new Date(e.firstAt)),
      type: input.type,
      reason: input.reason,
      action: input.action,
      note: truncateNote(input.note),
      regarding: ref,
      related: input.related ? objectReference(input.related) : undefined,
      reportingController: this.opts.reportingController,
      reportingInstance: this.opts.reportingInstance,
    };
    await this.clients.rest.request('POST', resourcePath(coreResources.events, e.namespace), { body });
    e.count = 1;
  }

  private forgetOld(now: number): void {
    for (const [key, entry] of this.series) if (now - entry.lastAt > this.windowMs) this.series.delete(key);
  }
}

/** `<object>.<hex nanoseconds>` like client-go; the random low digits keep two recorders apart. */
function eventName(objectName: string): string {
  const nanos = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  return `${objectName}.${nanos.toString(16)}`;
}

function objectReference(obj: KubernetesObject): ObjectReference {
  if (!obj.metadata?.name || !obj.kind) throw new Error('an event needs an object with kind and metadata.name');
  const { name, namespace, uid, resourceVersion } = obj.metadata;
  return { apiVersion: obj.apiVersion, kind: obj.kind, name, namespace, uid, resourceVersion };
}

function truncateNote(note: string | undefined): string | undefined {
  if (note === undefined || Buffer.byteLength(note) <= maxNoteBytes) return note;
  let cut = note.slice(0, maxNoteBytes - 3);
  while (Buffer.byteLength(cut) > maxNoteBytes - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
