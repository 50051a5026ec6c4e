/** Thrown by a check to end the wait at once: what is awaited can no longer happen. */
export class StopWaiting extends Error {}

/** Polls `check` until it returns true or `timeoutMs` passes; the error names what was awaited. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof StopWaiting) throw new Error(`gave up waiting for ${what}: ${err.message}`, { cause: err });
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
