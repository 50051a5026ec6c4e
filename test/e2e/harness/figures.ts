/**
 * Figures the tier reports at the end of a run (boot time per VM, CPU load, the tier's own time), so
 * the budget can be checked from any CI log.
 */
const noted: { what: string; value: string }[] = [];

export function noteFigure(what: string, value: string): void {
  noted.push({ what, value });
}

/** Everything noted so far, one line each. */
export function figureLines(): string[] {
  const width = Math.max(0, ...noted.map((f) => f.what.length));
  return noted.map((f) => `${f.what.padEnd(width)}  ${f.value}`);
}
