// Using a trained variational autoencoder: samples from the prior, interpolations between two
// images' codes, the 2-D latent manifold, and a scatter plot of test-set codes by label.
import { FASHION_MNIST_CLASSES } from '../../data/fashion-mnist.js';
import { VariationalAutoencoder } from '../../models/vae.js';
import { ForwardGraph, ParamStore } from '../../runtime/compile.js';
import { Rng } from '../../util/random.js';
import { imageGridPng } from '../../viz/png.js';
import { loadRun, runAutoencoder, type LoadedRun } from '../../train/run-folder.js';
import { pca, pcaTransform } from '../../numerics/pca.js';

export interface LoadedVaeRun extends LoadedRun {
  model: VariationalAutoencoder;
}

/** Load a run and check that it holds a VAE (vae-mlp, vae-conv or any VariationalAutoencoder preset). */
export function loadVaeRun(dir: string, checkpoint: 'best' | 'last' = 'best'): LoadedVaeRun {
  const run = loadRun(dir, checkpoint);
  if (!(run.model instanceof VariationalAutoencoder))
    throw new Error(`${dir}: trained with preset ${run.modelConfig.preset}, which is not a variational autoencoder; train one with --preset vae-mlp or vae-conv`);
  return run as LoadedVaeRun;
}

const prodOf = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/** Decode codes [n, latent] (row-major) into images [n, ...inputShape] (pixel means in [0, 1]). */
export async function decodeCodes(model: VariationalAutoencoder, codes: Float32Array, n: number, batchSize = 500): Promise<Float32Array> {
  const latent = model.latent;
  if (codes.length < n * latent) throw new Error(`decodeCodes: ${n} codes of ${latent} values need ${n * latent} numbers, got ${codes.length}`);
  const size = prodOf(model.inputShape);
  const graph = await ForwardGraph.create(
    model,
    [{ name: 'z', shape: [latent] }],
    (m, [z]) => {
      const x = (m as VariationalAutoencoder).decode(z!);
      return { loss: x, outputs: { x } };
    },
    new ParamStore(model),
    { withLoss: false },
  );
  try {
    return (await graph.runRows(codes, latent, n, batchSize)).outputs.x ?? new Float32Array(n * size);
  } finally {
    await graph.release();
  }
}

/** Codes (posterior means) of images [n, ...inputShape]. */
export async function encodeImages(model: VariationalAutoencoder, images: Float32Array, n: number): Promise<Float32Array> {
  return (await runAutoencoder({ model, inputShape: model.inputShape }, images, n)).codes;
}

export interface Samples {
  codes: Float32Array;
  images: Float32Array;
  n: number;
}

/** n samples from the prior: z ~ N(0, std²·I) from a seeded stream, decoded. */
export async function generateSamples(model: VariationalAutoencoder, opts: { n?: number; seed?: number; std?: number } = {}): Promise<Samples> {
  const n = opts.n ?? 64;
  if (!Number.isInteger(n) || n < 1) throw new Error(`generate: n must be a positive integer, got ${n}`);
  const codes = new Rng(opts.seed ?? 0).fillNormal(new Float32Array(n * model.latent), 0, opts.std ?? 1);
  return { codes, images: await decodeCodes(model, codes, n), n };
}

/** `steps` codes evenly spaced on the line from a to b (both included), decoded. */
export async function interpolateCodes(model: VariationalAutoencoder, a: Float32Array, b: Float32Array, steps = 10): Promise<Samples> {
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`interpolate: steps must be an integer >= 2, got ${steps}`);
  const d = model.latent;
  const codes = new Float32Array(steps * d);
  for (let s = 0; s < steps; s++) {
    const t = s / (steps - 1);
    for (let j = 0; j < d; j++) codes[s * d + j] = (1 - t) * a[j]! + t * b[j]!;
  }
  return { codes, images: await decodeCodes(model, codes, steps), n: steps };
}

/**
 * Interpolate between images `from` and `to` of a set: their codes (posterior means), `steps`
 * decoded points between them. Returns the strip's images: original `from`, the decoded
 * points, original `to` (steps + 2 images).
 */
export async function interpolateImages(model: VariationalAutoencoder, images: Float32Array, count: number, from: number, to: number, steps = 10): Promise<Samples & { strip: Float32Array }> {
  const size = prodOf(model.inputShape);
  for (const [name, i] of [['--from', from], ['--to', to]] as const)
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new Error(`interpolate: ${name} ${i} is out of range (the set has ${count} images)`);
  const pair = new Float32Array(2 * size);
  pair.set(images.subarray(from * size, (from + 1) * size), 0);
  pair.set(images.subarray(to * size, (to + 1) * size), size);
  const codes = await encodeImages(model, pair, 2);
  const d = model.latent;
  const r = await interpolateCodes(model, codes.subarray(0, d), codes.subarray(d, 2 * d), steps);
  const strip = new Float32Array((steps + 2) * size);
  strip.set(pair.subarray(0, size), 0);
  strip.set(r.images, size);
  strip.set(pair.subarray(size), (steps + 1) * size);
  return { ...r, strip };
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    throw new Error(`normalQuantile: p must be in [0, 1], got ${p}`);
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  let x: number;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - lo) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  return x;
}

/**
 * The 2-D latent manifold (Kingma & Welling's Figure 4): a size x size grid of codes at the
 * standard normal quantiles of evenly spaced probabilities in [lo, hi], decoded. z1 grows
 * left to right, z2 bottom to top. Only for a 2-number latent.
 */
export async function latentManifold(model: VariationalAutoencoder, opts: { size?: number; lo?: number; hi?: number } = {}): Promise<Samples & { size: number; axis: number[] }> {
  if (model.latent !== 2)
    throw new Error(`manifold: needs a 2-number latent, this model has ${model.latent}; train one with --bottleneck 2 (or "latent": 2), or use generate / latent-plot`);
  const size = opts.size ?? 20;
  if (!Number.isInteger(size) || size < 2) throw new Error(`manifold: size must be an integer >= 2, got ${size}`);
  const lo = opts.lo ?? 0.05, hi = opts.hi ?? 0.95;
  if (!(lo > 0 && hi < 1 && lo < hi)) throw new Error(`manifold: need 0 < lo < hi < 1, got ${lo}, ${hi}`);
  const axis = Array.from({ length: size }, (_, i) => normalQuantile(lo + ((hi - lo) * i) / (size - 1)));
  const codes = new Float32Array(size * size * 2);
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++) {
      codes[(r * size + c) * 2] = axis[c]!;
      codes[(r * size + c) * 2 + 1] = axis[size - 1 - r]!;
    }
  return { codes, images: await decodeCodes(model, codes, size * size), n: size * size, size, axis };
}

/** Images as a PNG grid (gray for one channel). */
export function samplesPng(model: VariationalAutoencoder, images: Float32Array, n: number, opts: { cols?: number; scale?: number; pad?: number } = {}): Buffer {
  const [c, h, w] = model.inputShape.length === 3 ? model.inputShape : [1, 1, prodOf(model.inputShape)];
  if (c !== 1 && c !== 3) throw new Error(`cannot draw images with ${c} channels`);
  return imageGridPng(images, { n, channels: c, height: h!, width: w!, cols: opts.cols ?? Math.ceil(Math.sqrt(n)), scale: opts.scale ?? 2, pad: opts.pad });
}

// ---------------- latent scatter plot ----------------

// matplotlib's tab10, as in the loss plots.
const TAB10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface LatentPoints {
  /** [n, 2] row-major plot coordinates. */
  xy: Float64Array;
  n: number;
  /** Axis titles: z1/z2, or PC1/PC2 with their share of the variance. */
  xLabel: string;
  yLabel: string;
  /** The PCA used when the latent is wider than 2. */
  explainedVarianceRatio?: number[];
}

/** 2-D coordinates of codes [n, d]: the codes themselves for d <= 2, else their first two principal components. */
export function latentPoints(codes: ArrayLike<number>, n: number, d: number): LatentPoints {
  if (d === 1) {
    const xy = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) xy[i * 2] = codes[i]!;
    return { xy, n, xLabel: 'z1', yLabel: '(none)' };
  }
  if (d === 2) return { xy: Float64Array.from({ length: n * 2 }, (_, i) => codes[i]!), n, xLabel: 'z1', yLabel: 'z2' };
  const p = pca(codes, n, d, 2);
  const pct = (r: number) => `${(100 * r).toFixed(1)}%`;
  return {
    xy: pcaTransform(p, codes, n),
    n,
    xLabel: `PC1 (${pct(p.explainedVarianceRatio[0]!)} of variance)`,
    yLabel: `PC2 (${pct(p.explainedVarianceRatio[1]!)} of variance)`,
    explainedVarianceRatio: p.explainedVarianceRatio,
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const r2 = (v: number) => Math.round(v * 100) / 100;

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const e = raw / mag;
  return (e >= Math.sqrt(50) ? 10 : e >= Math.sqrt(10) ? 5 : e >= Math.sqrt(2) ? 2 : 1) * mag;
}

/** SVG scatter of 2-D points coloured by label, with a legend of class names. */
export function latentScatterSvg(points: LatentPoints, labels: ArrayLike<number>, opts: { classNames?: string[]; title?: string; width?: number; height?: number } = {}): string {
  const names = opts.classNames ?? FASHION_MNIST_CLASSES;
  const W = opts.width ?? 760, H = opts.height ?? 600;
  const m = { top: opts.title ? 34 : 14, right: 150, bottom: 48, left: 64 };
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < points.n; i++) {
    const x = points.xy[i * 2]!, y = points.xy[i * 2 + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (x0 === Infinity) { x0 = -1; x1 = 1; y0 = -1; y1 = 1; }
  const grow = (lo: number, hi: number): [number, number] => {
    const span = hi - lo || Math.abs(lo) || 1;
    return [lo - 0.04 * span, hi + 0.04 * span];
  };
  [x0, x1] = grow(x0, x1);
  [y0, y1] = grow(y0, y1);
  const px = (x: number) => r2(m.left + ((x - x0) / (x1 - x0)) * pw);
  const py = (y: number) => r2(m.top + (1 - (y - y0) / (y1 - y0)) * ph);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (opts.title) out.push(`<text x="${r2(m.left + pw / 2)}" y="20" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  for (const [lo, hi, vertical] of [[x0, x1, true], [y0, y1, false]] as const) {
    const step = niceStep(hi - lo, 6);
    for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) {
      const v = Math.abs(t) < step * 1e-9 ? 0 : parseFloat(t.toPrecision(10));
      if (vertical) {
        const x = px(v);
        out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#eeeeee"/>`, `<text class="xtick" x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${v}</text>`);
      } else {
        const y = py(v);
        out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eeeeee"/>`, `<text class="ytick" x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${v}</text>`);
      }
    }
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  out.push(`<text x="${r2(m.left + pw / 2)}" y="${H - 12}" text-anchor="middle" font-size="12">${esc(points.xLabel)}</text>`);
  const cy = r2(m.top + ph / 2);
  out.push(`<text x="16" y="${cy}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${cy})">${esc(points.yLabel)}</text>`);
  // Points grouped by class (one <g> each) so a viewer can toggle or style them.
  const byClass = new Map<number, string[]>();
  for (let i = 0; i < points.n; i++) {
    const x = points.xy[i * 2]!, y = points.xy[i * 2 + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const l = labels[i]!;
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(`<circle cx="${px(x)}" cy="${py(y)}" r="2"/>`);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  for (const l of classes) {
    out.push(`<g class="points" data-label="${l}" fill="${TAB10[l % TAB10.length]}" fill-opacity="0.6">`, ...byClass.get(l)!, '</g>');
  }
  const lx = m.left + pw + 12;
  classes.forEach((l, k) => {
    const y = m.top + 10 + k * 18;
    out.push(`<circle cx="${lx + 6}" cy="${y}" r="5" fill="${TAB10[l % TAB10.length]}"/>`, `<text x="${lx + 16}" y="${y}" dominant-baseline="middle">${esc(names[l] ?? String(l))}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** The scatter plot rasterised to PNG (via sharp, like the loss plots). */
export async function svgToPng(svg: string): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(Buffer.from(svg)).png().toBuffer();
}
