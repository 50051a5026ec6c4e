import { readdir, readFile } from 'node:fs/promises';

/** PIDs of live processes whose command line mentions `marker` (a run's temp folder, say). */
export async function processesMentioning(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    // A zombie has an empty cmdline and holds nothing; a live process names its files.
    if (cmdline.includes(marker)) found.push(Number(entry));
  }
  return found;
}
