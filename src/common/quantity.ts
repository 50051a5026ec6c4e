/**
 * Kubernetes resource quantities (`10Gi`, `500M`, `1.5Ti`, `1e9`) to bytes, and bytes back to the
 * binary units people read (`1.8Ti`).
 */
const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, m: 1e-3 };

/** Bytes of a quantity string, rounded up to a whole byte; throws on anything that is not a quantity. */
export function parseQuantityBytes(quantity: string | number): number {
  if (typeof quantity === 'number') return Math.ceil(quantity);
  const m = /^([+]?[0-9]*\.?[0-9]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?)$/.exec(quantity.trim());
  if (!m) throw new Error(`"${quantity}" is not a Kubernetes quantity (examples: 10Gi, 500M, 1073741824)`);
  const value = Number(m[1]);
  if (m[2]) return Math.ceil(value * 10 ** Number(m[2].slice(1)));
  const suffix = m[3] ?? '';
  return Math.ceil(value * (binary[suffix] ?? decimal[suffix] ?? 1));
}

const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** `1992864825344` → `1.8Ti`; whole numbers drop the decimal (`10Gi`); below 1 KiB plain bytes. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  return `${sign}${text}${units[i]}`;
}
