// Values quoted in error messages: at most a short prefix, whatever the value's size (a bad
// 200 MB CSV cell must not become a 200 MB message).

/** JSON text of `v`, cut to `max` characters with the full length noted. */
export function quote(v: unknown, max = 40): string {
  const s = typeof v === 'string' ? JSON.stringify(v.length > max * 2 ? v.slice(0, max * 2) : v) : (JSON.stringify(v) ?? String(v));
  const full = typeof v === 'string' ? v.length + 2 : s.length;
  return s.length > max || full > s.length ? `${s.slice(0, max)}... (${full} chars)` : s;
}
