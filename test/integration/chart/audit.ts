/**
 * The kube-apiserver audit log as the chart's RBAC test reads it: one JSON event a line, reduced
 * to who asked for what and what the authorizer said. Only resource requests count (discovery and
 * /version are non-resource URLs every authenticated user may read).
 */
import { readFile } from 'node:fs/promises';

/** The audit policy of the test: Metadata for Loam's ServiceAccounts, nothing for anyone else. */
export function auditPolicyFor(namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [{ level: 'Metadata', userGroups: [`system:serviceaccounts:${namespace}`] }, { level: 'None' }],
  };
}

export interface AuditedRequest {
  user: string;
  userAgent: string;
  verb: string;
  apiGroup: string;
  /** `resource` or `resource/subresource`, as RBAC names it. */
  resource: string;
  namespace: string;
  name: string;
  code: number;
  /** The authorizer's decision: `allow` or `forbid`. */
  decision: string;
  uri: string;
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  requestURI?: string;
  userAgent?: string;
  user?: { username?: string };
  objectRef?: { apiGroup?: string; resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

/** Every resource request in the log (watches once, at their start). */
export async function readAudit(file: string): Promise<AuditedRequest[]> {
  const text = await readFile(file, 'utf8');
  const out: AuditedRequest[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const e = JSON.parse(line) as AuditEvent;
    if (!e.objectRef?.resource || (e.verb === 'watch' && e.stage !== 'ResponseStarted')) continue;
    const ref = e.objectRef;
    out.push({
      user: e.user?.username ?? '',
      userAgent: (e.userAgent ?? '').split(' ')[0]!,
      verb: e.verb ?? '',
      apiGroup: ref.apiGroup ?? '',
      resource: ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource!,
      namespace: ref.namespace ?? '',
      name: ref.name ?? '',
      code: e.responseStatus?.code ?? 0,
      decision: e.annotations?.['authorization.k8s.io/decision'] ?? '',
      uri: e.requestURI ?? '',
    });
  }
  return out;
}
