/**
 * KindDefinition → apiextensions.k8s.io/v1 CustomResourceDefinition. Pure and deterministic: the
 * same sources always give the same object, key order included, so `npm run check:crds` can diff.
 */
import { group, version } from './constants.js';
import type { CelRule, KindDefinition, Schema } from './schema.js';

type Json = Record<string, unknown>;

function celRule(r: CelRule): Json {
  const out: Json = { rule: r.rule, message: r.message };
  if (r.messageExpression) out.messageExpression = r.messageExpression;
  if (r.fieldPath) out.fieldPath = r.fieldPath;
  if (r.reason) out.reason = r.reason;
  return out;
}

/** The OpenAPI v3 form of one schema node, as a structural CRD schema wants it. */
export function openApiSchema(s: Schema): Json {
  // metadata may carry nothing but its type: the API server owns its schema.
  const out: Json = s.description ? { description: s.description, type: s.type } : { type: s.type };
  if (s.format) out.format = s.format;
  if (s.enum) out.enum = [...s.enum];
  if (s.default !== undefined) out.default = s.default;
  if (s.minimum !== undefined) out.minimum = s.minimum;
  if (s.maximum !== undefined) out.maximum = s.maximum;
  if (s.minLength !== undefined) out.minLength = s.minLength;
  if (s.maxLength !== undefined) out.maxLength = s.maxLength;
  if (s.pattern) out.pattern = s.pattern;
  if (s.minItems !== undefined) out.minItems = s.minItems;
  if (s.maxItems !== undefined) out.maxItems = s.maxItems;
  if (s.items) out.items = openApiSchema(s.items);
  if (s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, openApiSchema(v)]));
  }
  if (s.required?.length) out.required = [...s.required];
  if (s.listType) out['x-kubernetes-list-type'] = s.listType;
  if (s.listMapKeys) out['x-kubernetes-list-map-keys'] = [...s.listMapKeys];
  if (s.preserveUnknownFields) out['x-kubernetes-preserve-unknown-fields'] = true;
  if (s.rules?.length) out['x-kubernetes-validations'] = s.rules.map(celRule);
  return out;
}

/** The root schema of a kind: apiVersion, kind, metadata, spec, status. */
export function rootSchema(k: KindDefinition): Schema {
  return {
    type: 'object',
    description: k.description,
    properties: {
      apiVersion: { type: 'string', description: `API version of the object: ${group}/${version}.` },
      kind: { type: 'string', description: `Kind of the object: ${k.kind}.` },
      metadata: { type: 'object', description: '' },
      spec: k.spec,
      status: k.status,
    },
    required: ['spec'],
    ...(k.rules?.length ? { rules: k.rules } : {}),
  };
}

export function customResourceDefinition(k: KindDefinition): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${group}` },
    spec: {
      group,
      names: {
        categories: ['loam'],
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        shortNames: [k.shortName],
        singular: k.singular,
      },
      scope: 'Cluster',
      versions: [{
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: k.printerColumns.map((c) => {
          const col: Json = { name: c.name, type: c.type, jsonPath: c.jsonPath, description: c.description };
          if (c.priority) col.priority = c.priority;
          return col;
        }),
        schema: { openAPIV3Schema: openApiSchema(rootSchema(k)) },
      }],
    },
  };
}
