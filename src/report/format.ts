/** Small formatting helpers shared by the renderers. */

/** `812` → `13m 32s`; `4000` → `1h 6m 40s`. */
export function formatSeconds(total: number): string {
  const s = Math.round(total);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return [h > 0 ? `${h}h` : '', m > 0 || h > 0 ? `${m}m` : '', `${rest}s`].filter((x) => x !== '').join(' ');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
