/**
 * ajv validators compiled from the same kind sources as the CRDs, for controllers to run before they
 * act on an object. They check what the API server checks without the stored object: types, enums,
 * bounds, required fields, unknown fields (as strict field validation does) and the stateless CEL
 * rules through their TypeScript twins. Transition rules (immutable, only grows) need the old object
 * and stay with the API server.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { apiVersion } from './constants.js';
import { rootSchema } from './crd.js';
import { allKinds } from './kinds/index.js';
import type { CelRule, KindDefinition, Schema } from './schema.js';
import type { LoamObject } from './generated/types.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const ruleKeyword = 'x-loam-rules';
/** Rules by id: ajv keyword values must be plain data, so the schema carries ids and this table the functions. */
const rulesById: CelRule[] = [];

/** A kind source → the JSON Schema ajv runs (unknown fields rejected, stateless CEL rules as a keyword). */
function ajvSchema(s: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = { type: s.type };
  if (s.format) out.format = s.format;
  if (s.enum) out.enum = [...s.enum];
  for (const key of ['minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems'] as const) {
    if (s[key] !== undefined) out[key] = s[key];
  }
  if (s.listType === 'set') out.uniqueItems = true;
  if (s.items) out.items = ajvSchema(s.items);
  if (s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, ajvSchema(v)]));
    if (!s.preserveUnknownFields) out.additionalProperties = false;
  }
  if (s.required?.length) out.required = [...s.required];
  const checked = (s.rules ?? []).filter((r) => r.check);
  if (checked.length) out[ruleKeyword] = checked.map((r) => rulesById.push(r) - 1);
  return out;
}

function rootAjvSchema(k: KindDefinition): Record<string, unknown> {
  const schema = ajvSchema(rootSchema(k));
  const props = schema.properties as Record<string, Record<string, unknown>>;
  props.apiVersion = { const: apiVersion };
  props.kind = { const: k.kind };
  return { ...schema, required: ['apiVersion', 'kind', 'metadata', 'spec'] };
}

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['date-time', 'int32', 'int64']);
ajv.addKeyword({
  keyword: ruleKeyword,
  schemaType: 'array',
  errors: true,
  validate: function checkRules(ids: number[], data: unknown): boolean {
    const failed = ids.map((id) => rulesById[id]!).filter((r) => !r.check!(data as never));
    (checkRules as { errors?: Partial<ErrorObject>[] }).errors = failed.map((r) => ({ keyword: ruleKeyword, message: r.message, params: {} }));
    return failed.length === 0;
  },
});

const compiled = new Map<string, ValidateFunction>(allKinds.map((k) => [k.kind, ajv.compile(rootAjvSchema(k))]));

/** `/spec/description/devicePaths/0` → `spec.description.devicePaths[0]`. */
function fieldPath(pointer: string, child?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${fieldPath(e.instancePath, String(p.missingProperty))}: is required`;
    case 'additionalProperties':
      return `${fieldPath(e.instancePath, String(p.additionalProperty))}: unknown field (check its spelling; see kubectl explain)`;
    case 'enum':
      return `${fieldPath(e.instancePath) || '(root)'}: must be one of ${(p.allowedValues as string[]).join(', ')}`;
    case ruleKeyword:
      return `${fieldPath(e.instancePath) || '(root)'}: ${e.message ?? 'failed a validation rule'}`;
    default:
      return `${fieldPath(e.instancePath) || '(root)'}: ${e.message ?? e.keyword}`;
  }
}

/** Human-readable problems of an object of the given kind; empty when it is valid. */
export function validateObject(kind: string, obj: unknown): string[] {
  const validate = compiled.get(kind);
  if (!validate) throw new Error(`validateObject: ${kind} is not a kind of the ${apiVersion} API`);
  if (validate(obj)) return [];
  return [...new Set((validate.errors ?? []).map(describe))];
}

export function validateLocalDisk(obj: unknown): string[] {
  return validateObject('LocalDisk', obj);
}
export function validateLocalDiskClaim(obj: unknown): string[] {
  return validateObject('LocalDiskClaim', obj);
}
export function validateLocalDiskNode(obj: unknown): string[] {
  return validateObject('LocalDiskNode', obj);
}
export function validateLocalStorageNode(obj: unknown): string[] {
  return validateObject('LocalStorageNode', obj);
}
export function validateLocalVolume(obj: unknown): string[] {
  return validateObject('LocalVolume', obj);
}
export function validateLocalVolumeReplica(obj: unknown): string[] {
  return validateObject('LocalVolumeReplica', obj);
}

/** Narrows an object to its kind's type, or throws with every problem listed. */
export function assertValid<K extends LoamObject['kind']>(kind: K, obj: unknown): Extract<LoamObject, { kind: K }> {
  const problems = validateObject(kind, obj);
  if (problems.length > 0) {
    const name = (obj as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? '(unnamed)';
    throw new Error(`${kind} ${name} is invalid: ${problems.join('; ')}`);
  }
  return obj as Extract<LoamObject, { kind: K }>;
}
