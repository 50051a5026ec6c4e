import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { allKinds } from '../../../src/api/index.js';
import { customResourceDefinition } from '../../../src/api/crd.js';
import { typeScriptSource } from '../../../src/api/typegen.js';

type Node = Record<string, unknown>;

/** Every schema node below the root, with its path. */
function* nodes(schema: Node, path: string): Generator<[string, Node]> {
  yield [path, schema];
  for (const [k, v] of Object.entries((schema.properties ?? {}) as Record<string, Node>)) yield* nodes(v, `${path}.${k}`);
  if (schema.items) yield* nodes(schema.items as Node, `${path}[]`);
}

function openApi(kind: (typeof allKinds)[number]): Node {
  const crd = customResourceDefinition(kind) as { spec: { versions: { schema: { openAPIV3Schema: Node } }[] } };
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

describe('api generation', () => {
  it('describes every field (so kubectl explain teaches the API), metadata aside', () => {
    for (const kind of allKinds) {
      for (const [path, node] of nodes(openApi(kind), kind.kind)) {
        if (path === `${kind.kind}.metadata`) continue;
        assert.ok(typeof node.description === 'string' && node.description.length > 0, `${path} has no description`);
      }
    }
  });

  it('bounds every string and list a CEL rule can reach, so the cost estimate passes', () => {
    for (const kind of allKinds) {
      for (const [path, node] of nodes(openApi(kind), kind.kind)) {
        if (!/^\w+\.(spec|status)\b/.test(path)) continue;
        if (node.type === 'array') assert.ok(typeof node.maxItems === 'number', `${path} has no maxItems`);
        if (node.type === 'string' && !node.enum && node.format !== 'date-time') assert.ok(typeof node.maxLength === 'number', `${path} has no maxLength`);
      }
    }
  });

  it('gives every CEL rule a message that says what to do', () => {
    for (const kind of allKinds) {
      for (const [path, node] of nodes(openApi(kind), kind.kind)) {
        for (const rule of (node['x-kubernetes-validations'] ?? []) as { message: string }[]) {
          // It names the field and tells the fix: "<field> ... must/cannot/is immutable ...".
          assert.match(rule.message, /^(spec\.[\w.]+|metadata\.name|device paths) (must|can|cannot|is|lists) .+/, `${path}: "${rule.message}"`);
        }
      }
    }
  });

  it('is deterministic and matches the checked-in crds/ (run npm run gen:crds when this fails)', async () => {
    assert.equal(typeScriptSource(allKinds), typeScriptSource(allKinds));
    for (const kind of allKinds) {
      const onDisk = YAML.parse(await readFile(new URL(`../../../crds/loam.io_${kind.plural}.yaml`, import.meta.url), 'utf8'));
      assert.deepEqual(onDisk, JSON.parse(JSON.stringify(customResourceDefinition(kind))), kind.kind);
    }
    const types = await readFile(new URL('../../../src/api/generated/types.ts', import.meta.url), 'utf8');
    assert.equal(types, typeScriptSource(allKinds));
  });

  it('names six cluster-scoped kinds in category loam with the agreed short names', () => {
    const crds = allKinds.map((k) => customResourceDefinition(k) as { spec: { scope: string; names: { shortNames: string[]; categories: string[] } } });
    assert.deepEqual(crds.map((c) => c.spec.names.shortNames[0]), ['ld', 'ldc', 'ldn', 'lsn', 'lv', 'lvr']);
    for (const c of crds) {
      assert.equal(c.spec.scope, 'Cluster');
      assert.deepEqual(c.spec.names.categories, ['loam']);
    }
  });
});
