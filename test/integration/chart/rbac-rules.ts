/**
 * The chart's RBAC as data, and the two checks of the RBAC test: no request of a Loam
 * ServiceAccount was refused, and every verb of every rule of Loam's own roles was used by at
 * least one allowed request (a rule nobody uses is privilege nobody needs). Rules are compared
 * verb by verb and resource by resource: `[get, list, watch]` where only `list, watch` are used
 * names the unused `get`.
 */
import YAML from 'yaml';
import type { AuditedRequest } from './audit.js';

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/** One verb on one resource of one rule of a Loam role, bound to one ServiceAccount user. */
export interface Grant {
  user: string;
  /** `ClusterRole loam-node` or `Role loam-controller (loam-system)`. */
  role: string;
  /** 1-based, in the order of the template. */
  rule: number;
  apiGroup: string;
  resource: string;
  verb: string;
  resourceNames: string[];
  /** The Role's namespace; '' for a ClusterRole. */
  namespace: string;
}

export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Every grant of the roles defined in `manifests` (rendered YAML), per bound ServiceAccount. Bindings to built-in roles give none. */
export function grantsOf(manifests: string): Grant[] {
  const objects = YAML.parseAllDocuments(manifests).map((d) => d.toJS() as RbacObject | null).filter((o): o is RbacObject => o !== null);
  const roles = new Map(objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
  const grants: Grant[] = [];
  for (const b of objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    const namespace = b.kind === 'RoleBinding' ? b.metadata.namespace ?? '' : '';
    const role = roles.get(`${b.roleRef!.kind}/${b.roleRef!.kind === 'Role' ? namespace : ''}/${b.roleRef!.name}`);
    if (!role) continue;
    const label = `${role.kind} ${role.metadata.name}${namespace ? ` (${namespace})` : ''}`;
    for (const s of b.subjects ?? []) {
      const user = serviceAccountUser(s.namespace ?? '', s.name);
      (role.rules ?? []).forEach((r, i) => {
        for (const apiGroup of r.apiGroups ?? []) for (const resource of r.resources ?? []) for (const verb of r.verbs) {
          grants.push({ user, role: label, rule: i + 1, apiGroup, resource, verb, resourceNames: r.resourceNames ?? [], namespace });
        }
      });
    }
  }
  return grants;
}

/** Whether `g` allows `r`, as the RBAC authorizer decides it (no wildcards: the chart has none). */
export function allows(g: Grant, r: AuditedRequest): boolean {
  return g.user === r.user && g.apiGroup === r.apiGroup && g.resource === r.resource && g.verb === r.verb
    && (g.namespace === '' || g.namespace === r.namespace)
    && (g.resourceNames.length === 0 || g.resourceNames.includes(r.name));
}

/**
 * A server-side apply that made the object (201) was also authorized for `create`, inside the same
 * request; the audit log shows it as a patch only.
 */
function impliedRequests(r: AuditedRequest): AuditedRequest[] {
  return r.verb === 'patch' && r.code === 201 ? [r, { ...r, verb: 'create' }] : [r];
}

export interface RbacVerdict {
  /** Requests of Loam's ServiceAccounts that the API server refused. */
  refused: string[];
  /** Grants no allowed request used. */
  unused: string[];
  /** Per grant (`role rule N: verb group/resource`), the user agents whose requests used it. */
  usedBy: Map<string, Set<string>>;
}

/** How much a grant is narrowed: to a namespace, to named objects. */
function narrowness(g: Grant): number {
  return (g.namespace ? 1 : 0) + (g.resourceNames.length > 0 ? 1 : 0);
}

export function describeGrant(g: Grant): string {
  return `rule ${g.rule} of ${g.role} (${g.verb} ${g.apiGroup ? `${g.apiGroup}/` : ''}${g.resource}${g.resourceNames.length ? ` named ${g.resourceNames.join(',')}` : ''})`;
}

export function judge(grants: Grant[], requests: AuditedRequest[], users: string[]): RbacVerdict {
  const ours = requests.filter((r) => users.includes(r.user));
  const refused = ours.filter((r) => r.code === 403 || r.decision === 'forbid')
    .map((r) => `${r.user} (${r.userAgent || 'no user agent'}) was refused ${r.verb} ${r.uri}`);
  const usedBy = new Map<string, Set<string>>();
  for (const r of ours.filter((x) => x.decision === 'allow').flatMap(impliedRequests)) {
    // Only the narrowest grants that allow a request are credited: a cluster-wide rule used only
    // by requests a namespaced or named rule allows as well is privilege nobody needs.
    const matching = grants.filter((x) => allows(x, r));
    const narrowest = Math.max(...matching.map(narrowness));
    for (const g of matching.filter((x) => narrowness(x) === narrowest)) {
      const key = describeGrant(g);
      if (!usedBy.has(key)) usedBy.set(key, new Set());
      usedBy.get(key)!.add(r.userAgent);
    }
  }
  const unused = [...new Set(grants.map(describeGrant))].filter((k) => !usedBy.has(k))
    .map((k) => `${k} was never used — remove it or show the call`);
  return { refused: [...new Set(refused)], unused, usedBy };
}
