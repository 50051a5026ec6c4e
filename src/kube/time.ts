/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits, as the API server parses it. */
export function microTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
