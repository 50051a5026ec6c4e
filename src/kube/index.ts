/** Loam's Kubernetes plumbing: clients, informers, work queue, controllers, writes, events, leader election. */
export { loadKubeConfig, createKubeClients, type KubeClients, type KubeConfigSource } from './client.js';
export { RestClient, type Query, type RequestOptions, type WatchEvent, type WatchOptions } from './rest.js';
export { resourceRef, coreResources, apiVersionOf, resourcePath, objectKey, splitKey, type ResourceRef } from './resource.js';
export { ObjectCache, labelIndex, fieldIndex, diffSnapshot, type IndexFunc, type SnapshotDiff } from './cache.js';
export { Informer, type InformerEvents, type InformerOptions, type EventSource, type RelistReason } from './informer.js';
export { Backoff, backoffDelay, sleep, type BackoffOptions } from './backoff.js';
export { ItemExponentialRateLimiter, TokenBucketRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter, type RateLimiter } from './ratelimit.js';
export { WorkQueue, type WorkQueueOptions } from './workqueue.js';
export { enqueueOnChange } from './handlers.js';
export { Controller, type ControllerOptions, type ControllerStopOptions, type Reconcile, type ReconcileResult } from './controller.js';
export { serverSideApply, defaultFieldManager, type ApplyOptions } from './apply.js';
export { patchStatus, mergePatch, type PatchTarget, type MergePatchOptions } from './status.js';
export { EventRecorder, type EventInput, type EventType, type EventRecorderOptions } from './events.js';
export { LeaderElector, type LeaderElectionOptions } from './leader.js';
export { withRetry, type RetryOptions } from './retry.js';
export { statusCodeOf, statusBodyOf, apiErrorMessage, isNotFound, isConflict, isAlreadyExists, isGone, isTransient, socketCodeOf, wrapError } from './errors.js';
export { microTime } from './time.js';
export { compareAndSwap, type WriteOutcome } from './compare-and-swap.js';
