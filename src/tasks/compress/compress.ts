// Learned compression: an image set stored as its codes (float32, float16 or 8-bit quantized)
// plus the decoder's weights, in one self-contained .lkc file that decompresses without the run.
//
// .lkc layout (little-endian):
//   "LKC1" | uint32 header length | header JSON (UTF-8) | codes | decoder weights (safetensors)
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic.js';
import type { Split } from '../../data/fashion-mnist.js';
import { loadRunImages, type RunImageConfig } from '../../data/run-images.js';
import { buildModel, type ModelConfig } from '../../models/index.js';
import type { StateDict } from '../../nn/module.js';
import { decodeSafetensors, encodeSafetensors } from '../../nn/safetensors.js';
import { imageQuality, type ImageQuality } from '../../metrics/image-quality.js';
import { loadRun } from '../../train/run-folder.js';
import { AutoencoderRunner } from '../../runtime/inference.js';

import { CODE_DTYPES, type CodeDtype } from './code-dtypes.js';
export { CODE_DTYPES, type CodeDtype };
const MAGIC = 'LKC1';

// ---------------------------------------------------------------------------------------------
// float16 (IEEE 754 binary16), round to nearest even.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1 into place.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent, which is right
  return sign | h;
}

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

// ---------------------------------------------------------------------------------------------
// Code quantization.

export interface QuantizedCodes {
  dtype: CodeDtype;
  bytes: Uint8Array;
  /** int8: per-dimension affine map, value = min + (q + 128) * scale. */
  min?: number[];
  scale?: number[];
}

/** Store n x dim codes as float32, float16, or int8 with a per-dimension min/max scale. */
export function quantizeCodes(codes: Float32Array, n: number, dim: number, dtype: CodeDtype): QuantizedCodes {
  if (codes.length !== n * dim) throw new Error(`quantizeCodes: ${codes.length} values for ${n} x ${dim}`);
  if (dtype === 'float32') return { dtype, bytes: new Uint8Array(codes.slice().buffer) };
  if (dtype === 'float16') {
    const out = new Uint16Array(n * dim);
    for (let i = 0; i < out.length; i++) out[i] = toFloat16Bits(codes[i]!);
    return { dtype, bytes: new Uint8Array(out.buffer) };
  }
  if (dtype !== 'int8') throw new Error(`unknown code dtype "${dtype}"; choose one of ${CODE_DTYPES.join(', ')}`);
  const min = new Array<number>(dim).fill(Infinity);
  const max = new Array<number>(dim).fill(-Infinity);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < dim; j++) {
      const v = codes[i * dim + j]!;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  // float32-exact parameters, so the file's JSON round-trips them bit for bit.
  const lo = min.map((v) => Math.fround(Number.isFinite(v) ? v : 0));
  const scale = max.map((v, j) => Math.fround(Number.isFinite(v) && v > lo[j]! ? (v - lo[j]!) / 255 : 1));
  const q = new Int8Array(n * dim);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < dim; j++) q[i * dim + j] = Math.min(255, Math.max(0, Math.round((codes[i * dim + j]! - lo[j]!) / scale[j]!))) - 128;
  return { dtype, bytes: new Uint8Array(q.buffer), min: lo, scale };
}

export function dequantizeCodes(q: QuantizedCodes, n: number, dim: number): Float32Array {
  const count = n * dim;
  const width = q.dtype === 'float32' ? 4 : q.dtype === 'float16' ? 2 : 1;
  if (q.bytes.length !== count * width) throw new Error(`${q.dtype} codes: ${q.bytes.length} bytes for ${n} x ${dim}`);
  const copy = new Uint8Array(q.bytes); // an aligned copy with its own buffer (a Buffer view may not be)
  if (q.dtype === 'float32') return new Float32Array(copy.buffer);
  const out = new Float32Array(count);
  if (q.dtype === 'float16') {
    const h = new Uint16Array(copy.buffer);
    for (let i = 0; i < count; i++) out[i] = fromFloat16Bits(h[i]!);
    return out;
  }
  if (!q.min || !q.scale) throw new Error('int8 codes need their min and scale');
  const s = new Int8Array(copy.buffer);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = q.min[j]! + (s[i * dim + j]! + 128) * q.scale[j]!;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The .lkc container.

export interface LkcHeader {
  format: 'latentkit-codes';
  version: 1;
  model: ModelConfig;
  inputShape: number[];
  codeShape: number[];
  n: number;
  dtype: CodeDtype;
  quant?: { min: number[]; scale: number[] };
  /** Where the images came from, so a reader can compare against them. */
  source?: { dataset: string; split: string; start: number; count: number; seed?: number; skipBad?: boolean };
  codesBytes: number;
  decoderBytes: number;
}

export interface LkcFile {
  header: LkcHeader;
  /** Dequantized codes, n x codeSize. */
  codes: Float32Array;
  /** Decoder weights (every parameter outside `encoder.`). */
  decoder: StateDict;
}

/** Weights the decoder needs: everything but the encoder's. */
export function decoderStateDict(sd: StateDict): StateDict {
  return new Map([...sd].filter(([k]) => !k.startsWith('encoder.') && !k.endsWith('num_batches_tracked')));
}

export function encodeLkc(h: Omit<LkcHeader, 'format' | 'version' | 'codesBytes' | 'decoderBytes' | 'quant'>, q: QuantizedCodes, decoder: StateDict): Uint8Array {
  const weights = encodeSafetensors(decoder);
  const header: LkcHeader = { format: 'latentkit-codes', version: 1, ...h, dtype: q.dtype, codesBytes: q.bytes.length, decoderBytes: weights.length };
  if (q.min && q.scale) header.quant = { min: q.min, scale: q.scale };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + q.bytes.length + weights.length);
  out.set(Buffer.from(MAGIC, 'ascii'), 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(q.bytes, 8 + json.length);
  out.set(weights, 8 + json.length + q.bytes.length);
  return out;
}

export function decodeLkc(bytes: Uint8Array, name = '<lkc>'): LkcFile {
  if (bytes.length < 8 || Buffer.from(bytes.subarray(0, 4)).toString('ascii') !== MAGIC) throw new Error(`${name}: not a latentkit codes file (no LKC1 magic)`);
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + hlen > bytes.length) throw new Error(`${name}: truncated header`);
  let header: LkcHeader;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + hlen)).toString('utf8')) as LkcHeader;
  } catch (e) {
    throw new Error(`${name}: corrupt header (${(e as Error).message})`);
  }
  if (header.format !== 'latentkit-codes' || header.version !== 1) throw new Error(`${name}: unsupported format ${header.format} v${header.version}`);
  const c0 = 8 + hlen;
  const d0 = c0 + header.codesBytes;
  if (d0 + header.decoderBytes !== bytes.length) throw new Error(`${name}: ${bytes.length} bytes, the header accounts for ${d0 + header.decoderBytes}; the file is truncated or corrupt`);
  const dim = header.codeShape.reduce((a, b) => a * b, 1);
  const codes = dequantizeCodes({ dtype: header.dtype, bytes: bytes.subarray(c0, d0), min: header.quant?.min, scale: header.quant?.scale }, header.n, dim);
  const decoder = decodeSafetensors(Buffer.from(bytes.buffer, bytes.byteOffset + d0, header.decoderBytes), `${name} (decoder weights)`).tensors;
  return { header, codes, decoder };
}

/** Reconstructions from a decoded .lkc file, with only its own decoder weights. */
export async function decodeLkcImages(f: LkcFile): Promise<Float32Array> {
  const model = buildModel(f.header.model);
  const missing = model.namedParameters().map(([k]) => k).filter((k) => !k.startsWith('encoder.') && !f.decoder.has(k));
  if (missing.length) throw new Error(`the file lacks decoder weights: ${missing.join(', ')}`);
  model.loadStateDict(f.decoder, false);
  const runner = new AutoencoderRunner(model, f.header.inputShape);
  if (runner.codeShape.join(',') !== f.header.codeShape.join(',')) throw new Error(`the file's codes are [${f.header.codeShape}] but its model decodes [${runner.codeShape}]`);
  try {
    return await runner.decode(f.codes, f.header.n);
  } finally {
    await runner.release();
  }
}

// ---------------------------------------------------------------------------------------------
// The compress / decompress commands as functions.

export interface CompressOptions {
  out: string;
  dtype?: CodeDtype;
  split?: Split;
  limit?: number;
  dataDir?: string;
  checkpoint?: 'best' | 'last';
}

/** MSE, PSNR, SSIM (and per channel for colour). */
export type Quality = ImageQuality;

export interface CompressResult {
  path: string;
  n: number;
  dtype: CodeDtype;
  /** The images as 8-bit pixels (what the IDX files hold). */
  rawBytes: number;
  codesBytes: number;
  decoderBytes: number;
  fileBytes: number;
  /** rawBytes / fileBytes (codes, header and decoder weights). */
  ratio: number;
  /** rawBytes / codesBytes (the codes alone, as when the decoder is shipped once). */
  codesRatio: number;
  /** Quality of the round trip: file -> dequantized codes -> decoder, against the originals. */
  roundTrip: Quality;
  /** Quality with the unquantized float32 codes (the model's own reconstruction). */
  reference: Quality;
}

/** Enough to load the same images again (decompress --compare): dataset, split, and a folder's split seed. */
function sourceOf(config: RunImageConfig, split: string, count: number): NonNullable<LkcHeader['source']> {
  const folder = config.dataset?.startsWith('images:');
  return { dataset: config.dataset ?? 'fashion-mnist', split, start: 0, count, ...(folder ? { seed: config.seed ?? 0, skipBad: config.skipBad } : {}) };
}

export async function compressRun(runDir: string, o: CompressOptions): Promise<CompressResult> {
  const dtype = o.dtype ?? 'float32';
  if (!CODE_DTYPES.includes(dtype)) throw new Error(`unknown dtype "${dtype}"; choose one of ${CODE_DTYPES.join(', ')}`);
  const run = loadRun(runDir, o.checkpoint ?? 'best');
  const split = o.split ?? 'test';
  // Every class: a compressor is not limited to what the run trained on.
  const data = await loadRunImages(run.config, run.inputShape, { split, limit: o.limit, dataDir: o.dataDir, classes: 'all' });
  const runner = AutoencoderRunner.fromRun(run);
  let codes: Float32Array, ref: Float32Array;
  try {
    ({ codes, recon: ref } = await runner.forward(data.images, data.n));
  } finally {
    await runner.release();
  }
  const q = quantizeCodes(codes, data.n, runner.codeSize, dtype);
  const bytes = encodeLkc(
    { model: run.modelConfig, inputShape: run.inputShape, codeShape: run.model.codeShape(), n: data.n, dtype, source: sourceOf(run.config, split, data.n) },
    q,
    decoderStateDict(run.model.stateDict()),
  );
  writeFileAtomic(o.out, bytes);
  // The round trip reads the file back, as decompress does.
  const f = decodeLkc(readFileSync(o.out), o.out);
  const recon = await decodeLkcImages(f);
  const [c, h, w] = data.shape;
  const quality = (r: Float32Array): Quality => imageQuality(data.images, r, data.n, h, w, c);
  const rawBytes = data.images.length;
  return {
    path: o.out,
    n: data.n,
    dtype,
    rawBytes,
    codesBytes: f.header.codesBytes,
    decoderBytes: f.header.decoderBytes,
    fileBytes: bytes.length,
    ratio: rawBytes / bytes.length,
    codesRatio: rawBytes / f.header.codesBytes,
    roundTrip: quality(recon),
    reference: quality(ref),
  };
}

export interface DecompressResult {
  header: LkcHeader;
  recon: Float32Array;
  /** Against the source images, when asked for and found. */
  quality?: Quality;
}

export async function decompressFile(path: string, o: { compare?: boolean; dataDir?: string } = {}): Promise<DecompressResult> {
  const f = decodeLkc(readFileSync(path), path);
  const recon = await decodeLkcImages(f);
  const res: DecompressResult = { header: f.header, recon };
  if (o.compare) {
    const s = f.header.source;
    if (!s?.dataset) throw new Error(`${path}: the file does not say which images it holds; cannot compare`);
    const data = await loadRunImages(s, f.header.inputShape, { split: s.split as Split, limit: s.start + s.count, dataDir: o.dataDir, classes: 'all' });
    const size = f.header.inputShape.reduce((a, b) => a * b, 1);
    const orig = data.images.subarray(s.start * size, (s.start + s.count) * size);
    const [c, h, w] = f.header.inputShape as [number, number, number];
    res.quality = imageQuality(orig, recon, f.header.n, h, w, c);
  }
  return res;
}
