/** `--help` of the entry points: the usage is the header comment of the entry point's own file. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The first block comment of `source`, without its comment markers. */
export function headerComment(source: string): string {
  const m = /\/\*\*?([\s\S]*?)\*\//.exec(source);
  if (!m) return '';
  return m[1]!.split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join('\n').trim() + '\n';
}

/** The usage text of the module at `moduleUrl` (its header comment; the same in src/ and dist/, tsc keeps comments). */
export function usageOf(moduleUrl: string): string {
  return headerComment(readFileSync(fileURLToPath(moduleUrl), 'utf8'));
}
