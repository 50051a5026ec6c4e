/**
 * The small JSON-Schema dialect the kind sources are written in: the OpenAPI v3 subset a structural
 * CRD schema allows, CEL rules with an optional TypeScript twin (so ajv can apply the stateless ones
 * without an API server), and a `typeName` for the parts that become named TypeScript types.
 * Every node has a description, so `kubectl explain` teaches the whole API.
 */

/** One `x-kubernetes-validations` entry. */
export interface CelRule {
  /** CEL expression over `self` (and `oldSelf` for transition rules). */
  rule: string;
  /** Static message; always set, because ajv uses it and the API server falls back to it. */
  message: string;
  /** CEL string expression for a message that names the offending value. */
  messageExpression?: string;
  /** Where the error points, relative to the node the rule sits on (e.g. `.claimRef`). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /**
   * The same rule in TypeScript, for the ajv validators. Transition rules (with `oldSelf`) have none:
   * they need the stored object, which only the API server has.
   */
  check?: (self: never) => boolean;
}

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'number';

export interface Schema {
  type: SchemaType;
  description: string;
  format?: 'int32' | 'int64' | 'date-time';
  enum?: readonly string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
  /** Keeps an object's unknown fields (only for `metadata`, whose schema the API server owns). */
  preserveUnknownFields?: boolean;
  rules?: readonly CelRule[];
  /** Name of the TypeScript type generated for this node; inline when absent. */
  typeName?: string;
}

type Extra = Partial<Omit<Schema, 'type' | 'description'>>;

export function stringField(description: string, extra: Extra = {}): Schema {
  return { type: 'string', description, ...extra };
}

export function enumField(values: readonly string[], description: string, extra: Extra = {}): Schema {
  return { type: 'string', description, enum: values, ...extra };
}

export function int64Field(description: string, extra: Extra = {}): Schema {
  return { type: 'integer', format: 'int64', description, ...extra };
}

export function int32Field(description: string, extra: Extra = {}): Schema {
  return { type: 'integer', format: 'int32', description, ...extra };
}

export function boolField(description: string, extra: Extra = {}): Schema {
  return { type: 'boolean', description, ...extra };
}

export function timeField(description: string): Schema {
  return { type: 'string', format: 'date-time', description };
}

export function objectField(description: string, properties: Record<string, Schema>, extra: Extra = {}): Schema {
  return { type: 'object', description, properties, ...extra };
}

export function arrayField(items: Schema, description: string, extra: Extra = {}): Schema {
  return { type: 'array', description, items, ...extra };
}

/** A printer column of `kubectl get`. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0 shows in the default view, 1 only with `-o wide`. */
  priority?: number;
}

/** Everything the generator needs to know about one kind. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortName: string;
  description: string;
  spec: Schema;
  status: Schema;
  /** Rules over the whole object, e.g. on `self.metadata.name` (the only metadata CEL can read). */
  rules?: readonly CelRule[];
  printerColumns: readonly PrinterColumn[];
}
