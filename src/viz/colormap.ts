// Colormaps for heatmaps. Viridis is perceptually uniform and readable in greyscale print,
// which is why matplotlib made it the default; nine anchors linearly interpolated are
// visually indistinguishable from the full 256-entry table at figure sizes.

export type ColormapName = 'viridis' | 'gray';

const VIRIDIS: [number, number, number][] = [
  [0x44, 0x01, 0x54],
  [0x47, 0x2d, 0x7b],
  [0x3b, 0x52, 0x8b],
  [0x2c, 0x72, 0x8e],
  [0x21, 0x91, 0x8c],
  [0x28, 0xae, 0x80],
  [0x5e, 0xc9, 0x62],
  [0xad, 0xdc, 0x30],
  [0xfd, 0xe7, 0x25],
];

/** Map t in [0, 1] (clamped) to 8-bit RGB. */
export function colormap(name: ColormapName, t: number): [number, number, number] {
  const u = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  if (name === 'gray') {
    const v = Math.round(u * 255);
    return [v, v, v];
  }
  const pos = u * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}
