// PNG figures of image tensors: grids of samples, original-vs-reconstruction strips and
// heatmaps. Pure pngjs (no native code), so figures work wherever the library runs.
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../util/atomic.js';
import { colormap, type ColormapName } from './colormap.js';
import { drawText, GLYPH_H, textWidth, ADVANCE } from './font.js';

/** Encode interleaved 8-bit gray (channels 1) or RGB (channels 3) pixels as a PNG. */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  if (pixels.length !== width * height * channels) {
    throw new Error(`encodePng: ${pixels.length} bytes for ${width}x${height}x${channels}`);
  }
  const colorType = channels === 1 ? 0 : 2;
  const png = new PNG({ width, height, colorType, inputColorType: colorType, inputHasAlpha: false });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false });
}

/** Write a PNG atomically (temp file + rename), creating parent folders. */
export function savePng(path: string, buf: Uint8Array): void {
  writeFileAtomic(path, buf);
}

export interface GridOptions {
  /** How many images to draw (the first n of `images`). */
  n: number;
  channels: 1 | 3;
  height: number;
  width: number;
  cols: number;
  /** Default ceil(n / cols); with fewer, only the first rows * cols images are drawn. */
  rows?: number;
  /** Integer pixel magnification (default 1). */
  scale?: number;
  /** Gap between and around cells in output pixels (default 2). */
  pad?: number;
  /** Gap colour in [0, 1] (default 1, white). */
  background?: number;
  /** A short caption under each image (drawn with a 3x5 pixel font, cut to the cell width). */
  labels?: readonly (string | number)[];
}

const toByte = (v: number) => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0); // NaN → 0

/**
 * Tile images (NCHW float32, values clamped to [0, 1]) into one PNG, row-major.
 * Returns gray PNG for channels 1, RGB for channels 3.
 */
export function imageGridPng(images: Float32Array, opts: GridOptions): Buffer {
  const { n, channels: c, height: h, width: w, cols } = opts;
  const scale = opts.scale ?? 1;
  const pad = opts.pad ?? 2;
  if (c !== 1 && c !== 3) throw new Error(`imageGridPng: channels must be 1 or 3, got ${c}`);
  for (const [k, v] of Object.entries({ n, height: h, width: w, cols, scale })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`imageGridPng: ${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`imageGridPng: pad must be a non-negative integer, got ${pad}`);
  const size = c * h * w;
  if (images.length < n * size) {
    throw new Error(`imageGridPng: ${n} images of ${c}x${h}x${w} need ${n * size} values, got ${images.length}`);
  }
  const rows = opts.rows ?? Math.ceil(n / cols);
  const shown = Math.min(n, rows * cols);
  const cellW = w * scale;
  const cellH = h * scale;
  // Labels get a strip under each cell; the font grows with the images so it stays legible.
  const fontScale = Math.max(1, Math.floor(scale / 2));
  const labelH = opts.labels ? (GLYPH_H + 2) * fontScale : 0;
  const W = cols * cellW + (cols + 1) * pad;
  const H = rows * (cellH + labelH) + (rows + 1) * pad;
  const bg = toByte(opts.background ?? 1);
  const out = new Uint8Array(W * H * c).fill(bg);
  const ink = bg > 127 ? [0, 0, 0] : [255, 255, 255];

  for (let i = 0; i < shown; i++) {
    const x0 = pad + (i % cols) * (cellW + pad);
    const y0 = pad + Math.floor(i / cols) * (cellH + labelH + pad);
    const base = i * size;
    for (let y = 0; y < cellH; y++) {
      const sy = Math.floor(y / scale);
      for (let x = 0; x < cellW; x++) {
        const sx = Math.floor(x / scale);
        const o = ((y0 + y) * W + x0 + x) * c;
        for (let ch = 0; ch < c; ch++) out[o + ch] = toByte(images[base + ch * h * w + sy * w + sx]!);
      }
    }
    const label = opts.labels?.[i];
    if (label !== undefined) {
      const maxChars = Math.max(0, Math.floor((cellW + fontScale) / (ADVANCE * fontScale)));
      const text = String(label).slice(0, maxChars);
      const tx = x0 + Math.floor((cellW - textWidth(text, fontScale)) / 2);
      drawText(out, W, H, c, tx, y0 + cellH + fontScale, text, ink, fontScale);
    }
  }
  return encodePng(out, W, H, c);
}

/** Pixel magnification of figures: 3x for Fashion-MNIST-sized images, less for large ones. */
export function figureScale(h: number): number {
  return Math.max(1, Math.min(3, Math.floor(96 / h)));
}

export interface ReconstructionOptions {
  /** Number of image pairs (columns). */
  n: number;
  h: number;
  w: number;
  channels?: 1 | 3;
  /** Default 2. */
  scale?: number;
  pad?: number;
  background?: number;
}

/**
 * The classic autoencoder figure: n originals on the top row, their reconstructions in
 * the same columns underneath.
 */
export function reconstructionFigure(
  originals: Float32Array,
  reconstructions: Float32Array,
  opts: ReconstructionOptions,
): Buffer {
  const c = opts.channels ?? 1;
  const size = c * opts.h * opts.w;
  const { n } = opts;
  for (const [name, a] of [['originals', originals], ['reconstructions', reconstructions]] as const) {
    if (a.length < n * size) throw new Error(`reconstructionFigure: ${name} hold ${a.length} values, need ${n * size}`);
  }
  const both = new Float32Array(2 * n * size);
  both.set(originals.subarray(0, n * size), 0);
  both.set(reconstructions.subarray(0, n * size), n * size);
  return imageGridPng(both, {
    n: 2 * n,
    channels: c,
    height: opts.h,
    width: opts.w,
    cols: n,
    rows: 2,
    scale: opts.scale ?? 2,
    pad: opts.pad,
    background: opts.background,
  });
}

export interface HeatmapOptions {
  height: number;
  width: number;
  scale?: number;
  /** Value mapped to the low end (default: the smallest finite value). */
  min?: number;
  /** Value mapped to the high end (default: the largest finite value). */
  max?: number;
  colormap?: ColormapName;
}

/** Row-major `height x width` values → RGB PNG through a colormap. Non-finite values map to the low end. */
export function heatmapPng(values: ArrayLike<number>, opts: HeatmapOptions): Buffer {
  const { height: h, width: w } = opts;
  const scale = opts.scale ?? 1;
  if (values.length !== h * w) throw new Error(`heatmapPng: ${values.length} values for ${h}x${w}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const min = opts.min ?? (lo === Infinity ? 0 : lo);
  const max = opts.max ?? (hi === -Infinity ? 1 : hi);
  const span = max - min || 1; // a constant map is drawn at the low colour, not NaN
  const name = opts.colormap ?? 'viridis';
  const W = w * scale;
  const H = h * scale;
  const colors = Array.from({ length: h * w }, (_, i) => colormap(name, (values[i]! - min) / span));
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) out.set(colors[Math.floor(y / scale) * w + Math.floor(x / scale)]!, (y * W + x) * 3);
  }
  return encodePng(out, W, H, 3);
}
