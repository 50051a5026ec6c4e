/**
 * How monitors live and die, each scenario in its own Node process (test/integration/udev/fixtures):
 * many start/stop cycles, keeping the process alive or not, worker threads, a throwing listener,
 * and a socket that cannot be opened.
 */
import assert from 'node:assert/strict';
import { explain, runFixture } from './support/child.js';

describe('UdevMonitor lifecycle (child processes)', function () {
  this.timeout(90_000);

  it('starts and stops 1,000 monitors with stable memory, no leaked descriptor, and the process exits by itself', async function () {
    const run = await runFixture('start-stop-many.ts', { nodeOptions: ['--expose-gc'] });
    assert.equal(run.exitCode, 0, explain(run));
    assert.equal(run.timedOut, false, 'the process exits by itself although an unref’d monitor still runs');
    const { before, after, afterConcurrent, fdsWith50, cycleMs, collectedOf2000 } = run.report as {
      before: { rssMiB: number; fds: number };
      after: { rssMiB: number; fds: number };
      afterConcurrent: { rssMiB: number; fds: number };
      fdsWith50: number;
      cycleMs: number;
      collectedOf2000: number;
    };
    console.log(
      `      RSS ${before.rssMiB.toFixed(1)} MiB before, ${after.rssMiB.toFixed(1)} MiB after 1,000 start/stop cycles ` +
        `(${cycleMs.toFixed(0)} ms); ${collectedOf2000} of 2,000 monitors garbage-collected; fds ${before.fds} -> ${after.fds}`,
    );
    assert.ok(after.rssMiB - before.rssMiB < 8, `RSS grew by ${(after.rssMiB - before.rssMiB).toFixed(1)} MiB over 1,000 monitors`);
    assert.equal(after.fds, before.fds, 'every netlink socket is closed again');
    assert.equal(fdsWith50, before.fds + 50, '50 running monitors hold one socket each');
    assert.equal(afterConcurrent.fds, before.fds);
    assert.ok(collectedOf2000 >= 1900, `only ${collectedOf2000} of 2,000 stopped monitors were garbage-collected`);
  });

  it('a started monitor keeps the process alive until stopped; an unref’d one does not; ref() undoes unref()', async function () {
    const [kept, released, reRefd] = await Promise.all(
      ['ref', 'unref', 'unref-then-ref'].map((mode) => runFixture('keep-alive.ts', { args: [mode] })),
    );
    for (const run of [kept!, released!, reRefd!]) assert.equal(run.exitCode, 0, explain(run));
    assert.ok((kept!.report.livedMs as number) >= 490, `ref'd: lived ${kept!.report.livedMs} ms`);
    assert.equal(kept!.report.activeAtExit, false);
    assert.ok((released!.report.livedMs as number) < 400, `unref'd: lived ${released!.report.livedMs} ms`);
    assert.equal(released!.report.activeAtExit, true, 'the process left while the monitor was still running');
    assert.ok((reRefd!.report.livedMs as number) >= 490, `ref'd again: lived ${reRefd!.report.livedMs} ms`);
  });

  it('works in worker threads, each with its own addon, and survives workers ending or being terminated mid-delivery', async function () {
    const run = await runFixture('worker-host.ts', { timeoutMs: 80_000 });
    assert.equal(run.exitCode, 0, explain(run));
    const report = run.report as {
      stop: { exitCode: number; seen: { action: string; sysname: string }; sameAsMain: boolean; index: number };
      unref: { exitCode: number };
      terminate: { exitCodes: number[] };
      mainStillReceives: boolean;
    };
    assert.equal(report.stop.exitCode, 0, 'a worker whose monitor stopped ends by itself');
    assert.deepEqual({ action: report.stop.seen.action, sysname: report.stop.seen.sysname }, { action: 'add', sysname: `loop${report.stop.index}` });
    assert.equal(report.stop.sameAsMain, true, 'the worker and the main thread saw the same kernel event');
    assert.equal(report.unref.exitCode, 0, 'a worker ends by itself with an unref’d monitor running');
    assert.deepEqual(report.terminate.exitCodes, Array(10).fill(1), 'terminated workers report exit code 1 and nothing aborts');
    assert.equal(report.mainStillReceives, true);
  });

  it('reports a throwing listener as an uncaught exception and keeps delivering', async function () {
    const run = await runFixture('throwing-listener.ts');
    assert.equal(run.exitCode, 0, explain(run));
    const { index, caught, removed } = run.report as { index: number; caught: string[]; removed: string[] };
    assert.deepEqual(caught, [`listener failed on loop${index}`]);
    assert.deepEqual(removed, [`loop${index}`]);
  });

  it('throws an Error with the errno text when the netlink socket cannot be opened, and can start later', async function () {
    const run = await runFixture('no-file-descriptors.ts', { prefix: ['prlimit', '--nofile=256:256', '--'] });
    assert.equal(run.exitCode, 0, explain(run));
    const { failure, activeAfterwards } = run.report as { failure: Record<string, unknown>; activeAfterwards: boolean };
    assert.deepEqual(failure, {
      thrown: true,
      name: 'Error',
      isError: true,
      message: 'cannot open the kernel uevent netlink socket: Too many open files',
      code: 'EMFILE',
      errno: 24,
      active: false,
    });
    assert.equal(activeAfterwards, true);
  });
});
