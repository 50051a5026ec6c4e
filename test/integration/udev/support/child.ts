/** Runs a fixture script of test/integration/udev/fixtures in its own Node process (with tsx). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface FixtureRun {
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (fixtures print their findings there). */
  report: Record<string, unknown>;
}

export async function runFixture(
  name: string,
  options: { args?: string[]; nodeOptions?: string[]; timeoutMs?: number; prefix?: string[] } = {},
): Promise<FixtureRun> {
  const nodeArgs = [...(options.nodeOptions ?? []), '--import', 'tsx', path.join(fixtures, name), ...(options.args ?? [])];
  const [command, args] = options.prefix
    ? [options.prefix[0] ?? '', [...options.prefix.slice(1), process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const result: Result = await execa(command, args, {
    reject: false,
    timeout: options.timeoutMs ?? 30_000,
    env: { LOAM_LOG_LEVEL: 'warn' },
  });
  const stdout = String(result.stdout ?? '');
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(lastLine) as Record<string, unknown>;
  } catch {
    // Left empty: the assertions on exit code and output will say what went wrong.
  }
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    stdout,
    stderr: String(result.stderr ?? ''),
    report,
  };
}

/** A one-line description of a run, for assertion messages. */
export function explain(run: FixtureRun): string {
  return `exit ${run.exitCode} signal ${run.signal} timedOut ${run.timedOut}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
}
