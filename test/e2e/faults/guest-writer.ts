/**
 * A workload in the guest that keeps a mounted volume busy, as an application would: it writes
 * 64 KiB of fresh random bytes to one of eight files (O_DIRECT, fsync), reads them back past the
 * page cache and compares checksums, five times a second, and logs one line per round: `ok`, or
 * `err <round> <unix time>`. An IO error or a wrong read is therefore counted, not hidden by a cache.
 */
import { shellQuote } from '../harness/agent.js';
import type { Vm } from '../harness/vm.js';

export interface WriterCounts {
  ok: number;
  errors: number;
  /** The last lines the writer's commands wrote to stderr, for a failure's message. */
  stderrTail: string;
}

export class GuestWriter {
  private constructor(private readonly vm: Vm, readonly dir: string, private readonly log: string, private readonly pid: number) {}

  /** Starts writing into the folder `dir` of the guest; `name` keeps several writers' logs apart. */
  static async start(vm: Vm, dir: string, name: string): Promise<GuestWriter> {
    const log = `/run/guest-writer-${name}.log`;
    const d = shellQuote(dir);
    const l = shellQuote(log);
    const script = `set -o pipefail
buf=$(mktemp)
i=0
while :; do
  i=$((i + 1))
  f=${d}/io-$((i % 8))
  head -c 65536 /dev/urandom > "$buf"
  want=$(sha256sum < "$buf" | cut -d' ' -f1)
  if dd if="$buf" of="$f" bs=65536 count=1 oflag=direct conv=fsync status=none 2>> ${l}.stderr &&
     got=$(dd if="$f" bs=65536 count=1 iflag=direct status=none 2>> ${l}.stderr | sha256sum | cut -d' ' -f1) &&
     [ "$got" = "$want" ]; then
    echo ok >> ${l}
  else
    echo "err $i $(date +%s)" >> ${l}
  fi
  sleep 0.2
done`;
    await vm.runOk(`: > ${l}; : > ${l}.stderr`);
    // setsid: the writer leads its own process group, so stop() ends it and whatever dd it runs.
    const pid = await vm.startBackground(script, `${log}.out`);
    return new GuestWriter(vm, dir, log, pid);
  }

  async counts(): Promise<WriterCounts> {
    const l = shellQuote(this.log);
    const out = await this.vm.runOk(`grep -c '^ok' ${l} || true; grep -c '^err' ${l} || true; tail -c 2000 ${l}.stderr`);
    const [ok, errors, ...rest] = out.split('\n');
    return { ok: Number(ok), errors: Number(errors), stderrTail: rest.join('\n') };
  }

  /**
   * Ends the writer and waits until no process of it runs (so its volume can be unmounted). The
   * guest's init does not reap orphans: a zombie counts as ended.
   */
  async stop(): Promise<void> {
    await this.vm.runOk(`kill -KILL -- -${this.pid} 2>/dev/null
running() { for p in $(pgrep -g ${this.pid}); do s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null) && [ "$s" != Z ] && return 0; done; return 1; }
while running; do sleep 0.1; done`);
  }
}
