/** Every runtime dependency in package.json does work in the product: nothing is shipped that nothing imports. */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'build') out.push(...(await sourceFiles(full)));
    else if (/\.(ts|mjs|gyp)$/.test(entry.name)) out.push(full);
  }
  return out;
}

/** The dependencies of `pkg` that no file of src/ or native/ imports or requires. */
export async function unusedDependencies(pkg: { dependencies?: Record<string, string> }): Promise<string[]> {
  const texts = await Promise.all([...(await sourceFiles(path.join(repo, 'src'))), ...(await sourceFiles(path.join(repo, 'native')))].map((f) => readFile(f, 'utf8')));
  const all = texts.join('\n');
  return Object.keys(pkg.dependencies ?? {}).filter((dep) => {
    const quoted = dep.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    return !new RegExp(`(from |import\\(|require\\()\\\\?['"]${quoted}(/[^'"]*)?\\\\?['"]`).test(all);
  });
}

describe('package.json dependencies', () => {
  it('every runtime dependency is imported by src/ or native/', async () => {
    const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    assert.deepEqual(await unusedDependencies(pkg), []);
  });
});
