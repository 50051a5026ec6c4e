/**
 * Loam's own entry points (loam-controller, loam-node) as child processes of the demo, with their
 * JSON logs in files of the demo folder. Run with tsx from the sources under `npm run demo`, or as
 * compiled JavaScript from dist/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

const here = path.dirname(fileURLToPath(import.meta.url));
const fromSources = import.meta.url.endsWith('.ts');

export interface LoamProcess {
  name: string;
  logFile: string;
  /** Resolves with the exit code when the process ends, for whatever reason. */
  exited: Promise<number | undefined>;
  stop(timeoutMs?: number): Promise<number | undefined>;
}

/** Starts `src/cmd/<name>` with `args`; stdout and stderr go to `<dir>/<name>.log`. */
export function startLoamProcess(name: 'loam-controller' | 'loam-node', args: string[], dir: string): LoamProcess {
  const entry = path.join(here, '..', 'cmd', `${name}${fromSources ? '.ts' : '.js'}`);
  const logFile = path.join(dir, `${name}.log`);
  const child: ResultPromise = execa(process.execPath, [...(fromSources ? ['--import', 'tsx'] : []), entry, ...args], {
    stdin: 'ignore',
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    reject: false,
  });
  const exited = child.then((r) => r.exitCode);
  return {
    name,
    logFile,
    exited,
    async stop(timeoutMs = 15_000): Promise<number | undefined> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
