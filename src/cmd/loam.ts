#!/usr/bin/env node
/**
 * loam: Loam's command line. Wiring only.
 *
 *   loam demo     the Local Disk Manager on this machine (root): a test control plane, loam-controller,
 *                 loam-node over loop devices, an example claim; Ctrl-C removes everything it made.
 *                 `npm run demo` runs it.
 */
import { setLogLevel } from '../common/logger.js';
import { Demo } from '../demo/demo.js';

const usage = 'usage: loam demo\n\n  demo   show the Local Disk Manager working on this machine (needs root; Ctrl-C removes everything it made)';

async function demo(): Promise<void> {
  // The demo's own lines go to stdout; component logs would only drown them.
  setLogLevel(process.env.LOAM_LOG_LEVEL ?? 'warn');
  const write = (line: string): void => console.log(line);
  const d = new Demo({ write });
  let stopping = false;
  const stop = async (code: number, why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    write(`\n${why}: stopping loam-node, loam-controller and the control plane, detaching the loop devices, removing the files...`);
    const problems = await d.cleanup();
    for (const p of problems) console.error(`  could not clean up: ${p}`);
    write(problems.length === 0 ? 'everything the demo made is removed.' : 'cleanup finished with the problems above.');
    process.exit(problems.length === 0 ? code : 1);
  };
  // During setup a signal ends the current step and the failure path cleans up; afterwards it cleans up directly.
  const setup = new AbortController();
  let setUp = false;
  const onSignal = (why: string): void => {
    if (setUp) void stop(0, why);
    else setup.abort(new Error(`${why} during setup`));
  };
  process.on('SIGINT', () => onSignal('Ctrl-C'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    const running = await d.start(setup.signal);
    setUp = true;
    if (setup.signal.aborted) return stop(130, (setup.signal.reason as Error).message);
    write(`\nKUBECONFIG=${running.kubeconfigPath}`);
    write(`\n  export KUBECONFIG=${running.kubeconfigPath}`);
    write(`  alias kubectl=${running.kubectlPath}   # the control plane's kubectl, if you have none`);
    write('  kubectl get localdisks -o wide');
    write(`  kubectl describe localdiskclaim ${running.claimName}`);
    write('  kubectl get events -n default');
    write(`  logs of loam-controller and loam-node: ${running.dir}`);
    write('\nPress Ctrl-C to stop and remove everything the demo made.');
    void running.processExit.then((message) => stop(1, message));
  } catch (err) {
    if (setup.signal.aborted) return stop(130, (setup.signal.reason as Error).message);
    const e = err as Error;
    console.error(`\nthe demo failed: ${e.message}${e.cause instanceof Error ? `\n  cause: ${e.cause.message}` : ''}`);
    for (const line of await d.logTails()) console.error(line);
    await stop(1, 'failure');
  }
}

const [command] = process.argv.slice(2);
if (command === 'demo') {
  await demo();
} else {
  console.error(usage);
  process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : 2);
}
