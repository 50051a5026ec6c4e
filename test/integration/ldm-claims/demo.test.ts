import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../../tools/testenv/wait.js';

/** Backing files of every attached loop device of the machine. */
function loopBackingFiles(): string[] {
  return readdirSync('/sys/block').filter((d) => d.startsWith('loop')).map((d) => {
    try {
      return readFileSync(`/sys/block/${d}/loop/backing_file`, 'utf8').trim();
    } catch {
      return '';
    }
  }).filter(Boolean);
}

describe('loam demo (npm run demo)', function () {
  this.timeout(150_000);

  it('shows the claim Bound, its disks Claimed and the ext4 disk Unavailable, keeps running with a KUBECONFIG, and removes everything on Ctrl-C', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/loam.ts', 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the demo to be running', () => {
        if (child.exitCode !== null) throw new Error(`the demo exited early (${child.exitCode}):\n${out}\n${err.slice(-3000)}`);
        return out.includes('Press Ctrl-C to stop');
      }, 120_000, 200);
      const loops = [...out.matchAll(/^\s+(\/dev\/loop\d+)\s+(SSD-like|HDD-like|holds ext4)\s+\S+\s+\((\S+)\)$/gm)].map((m) => ({ device: m[1]!, kind: m[2]!, file: m[3]! }));
      assert.equal(loops.length, 4, out);
      assert.match(out, /\$ kubectl get localdisks\n/);
      assert.match(out, /^demo-ssd\s+loam-demo\s+local-storage\s+SSD\s+Bound\s+4Gi\s/m, 'the claim is Bound with both SSD-like disks');
      for (const l of loops.filter((x) => x.kind === 'SSD-like')) {
        assert.match(out, new RegExp(`loam-demo\\s+${l.device}\\s+SSD\\s+2Gi\\s+Claimed\\s+\\S+\\s+demo-ssd\\s`), `${l.device} is Claimed by demo-ssd`);
      }
      const ext4 = loops.find((x) => x.kind === 'holds ext4')!;
      assert.match(out, new RegExp(`${ext4.device} \\(holds ext4\\) is Unavailable \\(.+\\): Loam never claims or wipes a disk that holds data`));
      assert.match(out, /not chosen: it is HDD, not SSD/);
      const kubeconfig = /^KUBECONFIG=(\S+)$/m.exec(out)?.[1];
      assert.ok(kubeconfig && existsSync(kubeconfig), 'a KUBECONFIG the user can use');
      const demoDir = path.dirname(loops[0]!.file);

      child.kill('SIGINT');
      assert.equal(await exited, 0, err.slice(-3000));
      assert.match(out, /everything the demo made is removed\./);
      assert.equal(existsSync(demoDir), false, 'the demo folder is gone');
      assert.equal(existsSync(kubeconfig), false, 'the control plane folder is gone');
      assert.deepEqual(loopBackingFiles().filter((f) => f.startsWith(demoDir)), [], 'no loop device of the demo is left attached');
    } finally {
      // A failed run still cleans up after itself on SIGINT; SIGKILL only if that hangs.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        await exited;
        clearTimeout(timer);
      }
    }
  });
});
