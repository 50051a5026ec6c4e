/** `host:port` flags of the servers (extender, webhook, health). */

/**
 * Splits `host:port`. An empty host (`:8099`) is loopback, never every interface by accident;
 * an IPv6 host may be written in brackets (`[::]:9808`).
 */
export function parseHostPort(value: string, flag: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65_535) throw new Error(`--${flag} must be host:port, got "${value}"`);
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host: host || '127.0.0.1', port };
}
