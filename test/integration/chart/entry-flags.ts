/**
 * The command-line options an entry point of src/cmd accepts, read from its `parseArgs` options
 * (name → 'string' | 'boolean'), so the chart's flags can be checked against the binaries they run:
 * parseArgs is strict, and an unknown flag or a value given to a boolean one stops the process.
 */
import { readFile } from 'node:fs/promises';

export async function entryPointOptions(binary: string): Promise<Map<string, 'string' | 'boolean'>> {
  const source = await readFile(`src/cmd/${binary}.ts`, 'utf8');
  const options = new Map<string, 'string' | 'boolean'>();
  for (const m of source.matchAll(/^\s*'?([a-z][a-z-]*)'?: \{ type: '(string|boolean)'/gm)) options.set(m[1]!, m[2] as 'string' | 'boolean');
  if (options.size === 0) throw new Error(`found no parseArgs options in src/cmd/${binary}.ts`);
  return options;
}
