/**
 * The harness's command channel as a test author relies on it: exit codes, stdout and stderr kept
 * apart, arguments passed untouched, environment and working folder, any bytes in and out, the
 * guest-side timeout, and commands that overlap.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Vm } from './harness/vm.js';

describe('e2e: the guest agent', function () {
  let vm: Vm;

  before(async function () {
    vm = await Vm.start({ name: 'agent' });
  });

  after(async function () {
    await vm?.stop();
  });

  it('returns the exit code, stdout and stderr of a command', async function () {
    const r = await vm.run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.exitCode, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
  });

  it('passes arguments untouched: quotes, spaces, $ and empty ones', async function () {
    const args = ["it's", 'a b', '$HOME', '', '*', 'line\nbreak'];
    const r = await vm.run(['printf', '%s|', ...args]);
    assert.equal(r.stdout, args.map((a) => `${a}|`).join(''));
  });

  it('runs with the given environment and working folder', async function () {
    const out = await vm.runOk('echo "$GREETING"; pwd', { env: { GREETING: "hello 'guest'" }, cwd: '/etc' });
    assert.equal(out, "hello 'guest'\n/etc\n");
  });

  it('moves any bytes into and out of the guest', async function () {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    await vm.writeFile('/root/bytes.bin', bytes);
    assert.deepEqual(await vm.readFile('/root/bytes.bin'), bytes);
    assert.equal((await vm.runOk('stat -c %s /root/bytes.bin')).trim(), '4096');
  });

  it('brings large output back whole', async function () {
    const guestSum = (await vm.runOk('head -c 8M /dev/urandom > /root/big.bin && sha256sum /root/big.bin')).split(' ')[0];
    const big = await vm.readFile('/root/big.bin');
    assert.equal(big.length, 8 * 1024 * 1024);
    assert.equal(createHash('sha256').update(big).digest('hex'), guestSum);
  });

  it('kills a command at its timeout and reports it', async function () {
    const started = Date.now();
    const r = await vm.runScript('echo started; sleep 60', { timeoutMs: 2000 });
    assert.equal(r.exitCode, 137, 'killed by SIGKILL');
    assert.equal(r.stdout, 'started\n');
    assert.ok(Date.now() - started < 15_000, 'the reply came soon after the timeout');
  });

  it('runs commands side by side: a quick one is not held up by a slow one', async function () {
    const order: string[] = [];
    await Promise.all([
      vm.runOk('sleep 3').then(() => order.push('slow')),
      vm.runOk('true').then(() => order.push('quick')),
    ]);
    assert.deepEqual(order, ['quick', 'slow']);
  });
});
