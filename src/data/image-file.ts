// The one image reader: PNG, JPEG or WebP files or bytes -> model input (float32 CHW in [0, 1]).
// Every command that takes the user's images (training folders, `reconstruct --image`, embed,
// anomaly, search, the HTTP service, the report) decodes through here, so one rule holds:
// alpha is composited onto black (Fashion-MNIST's background), the image is stretched to
// [H, W] (torchvision's Resize((h, w))), then converted to gray (luminance) or sRGB.
import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';

export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

export interface DecodeImageOptions {
  /** Refuse images with more pixels than this before decoding them (default 4096 x 4096). */
  maxPixels?: number;
}

/** The formats the reader accepts (sharp's names). */
export const IMAGE_FORMATS = ['png', 'jpeg', 'webp'] as const;
/** File extensions listed as images in folders. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

/** Check that `shape` is an image input [1|3, H, W]. */
export function checkImageShape(shape: readonly number[], what = 'the model input'): [number, number, number] {
  const [c, h, w] = shape as [number, number, number];
  if (shape.length !== 3 || (c !== 1 && c !== 3) || !(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0))
    throw new Error(`${what} [${shape}] is not an image shape (need [1|3, H, W] with positive integer H, W)`);
  return [c, h, w];
}

/**
 * Decode one image to `shape` = [channels, height, width] (channels 1 or 3), values pixel / 255.
 * Errors are ImageDecodeError with a one-line reason (the caller adds the file name).
 */
export async function decodeImage(bytes: Uint8Array, shape: readonly number[], opts: DecodeImageOptions = {}): Promise<Float32Array> {
  const [c, h, w] = checkImageShape(shape);
  if (bytes.length === 0) throw new ImageDecodeError('empty file (0 bytes)');
  const fast = decodeExactPng(bytes, c, h, w);
  if (fast) return fast;
  const { default: sharp } = await import('sharp');
  let raw: Buffer;
  try {
    const img = sharp(bytes, { limitInputPixels: opts.maxPixels ?? 4096 * 4096, failOn: 'error' });
    const meta = await img.metadata();
    if (!(IMAGE_FORMATS as readonly string[]).includes(meta.format ?? '')) throw new Error(`${meta.format} is not one of ${IMAGE_FORMATS.join(', ')}`);
    if (!(meta.channels! >= 1 && meta.channels! <= 4)) throw new Error(`has ${meta.channels} channels (need 1-4: gray, gray+alpha, RGB, RGBA)`);
    let p = img.flatten({ background: '#000000' }).resize(w, h, { fit: 'fill' });
    p = c === 1 ? p.grayscale() : p.toColourspace('srgb');
    const out = await p.raw().toBuffer({ resolveWithObject: true });
    if (out.info.channels !== c) throw new Error(`decoded to ${out.info.channels} channels, expected ${c}`);
    raw = out.data;
  } catch (e) {
    throw new ImageDecodeError(`not a decodable image (${oneLine((e as Error).message)})`);
  }
  return planar(raw, c, h, w);
}

/** sharp gives interleaved HWC bytes; the model wants planar CHW floats. */
function planar(raw: Uint8Array, c: number, h: number, w: number): Float32Array {
  const x = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) for (let ch = 0; ch < c; ch++) x[ch * h * w + i] = raw[i * c + ch]! / 255;
  return x;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Pixels (width x height) an image declares in its header, read without decoding it; 0 if unreadable. */
export async function imagePixels(bytes: Uint8Array): Promise<number> {
  if (bytes.length >= 24 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return v.getUint32(16, false) * v.getUint32(20, false);
  }
  const { default: sharp } = await import('sharp');
  try {
    const m = await sharp(bytes, { limitInputPixels: false }).metadata();
    return (m.width ?? 0) * (m.height ?? 0) * (m.pages ?? 1);
  } catch {
    return 0; // the decoder then says what is wrong with it
  }
}

/**
 * The common case served cheaply: a PNG already at the model's size, opaque and gray (or RGB
 * for 3 channels), decoded with pngjs in a few microseconds instead of a sharp pipeline (which
 * costs about a millisecond a call). Returns undefined for anything else, which then goes
 * through sharp; where both apply they give the same values.
 */
function decodeExactPng(bytes: Uint8Array, c: number, h: number, w: number): Float32Array | undefined {
  if (bytes.length < 33 || bytes.length > 1 << 20 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(16) !== w || view.getUint32(20) !== h) return undefined; // IHDR width, height
  let png: { data: Buffer };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    return undefined; // let sharp produce the error message
  }
  const d = png.data; // RGBA, 8 bits
  const x = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    const r = d[4 * i]!, g = d[4 * i + 1]!, b = d[4 * i + 2]!;
    if (d[4 * i + 3] !== 255) return undefined;
    if (c === 1) {
      if (r !== g || g !== b) return undefined;
      x[i] = r / 255;
    } else {
      x[i] = r / 255;
      x[h * w + i] = g / 255;
      x[2 * h * w + i] = b / 255;
    }
  }
  return x;
}

/** Read and decode one file; every error is one line starting with the file name. */
export async function readImageFile(path: string, shape: readonly number[], opts: DecodeImageOptions = {}): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ImageDecodeError(`${path}: cannot read (${oneLine((e as Error).message)})`);
  }
  try {
    return await decodeImage(bytes, shape, opts);
  } catch (e) {
    throw new ImageDecodeError(`${path}: ${(e as Error).message}`);
  }
}

/** Read several files into one n x C x H x W array (for `reconstruct --image` and friends). */
export async function readImageFiles(paths: readonly string[], shape: readonly number[]): Promise<Float32Array> {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(paths.length * size);
  for (const [k, p] of paths.entries()) out.set(await readImageFile(p, shape), k * size);
  return out;
}

export interface ImageHeader {
  width: number;
  height: number;
  /** True for RGB(A) images, false for gray (with or without alpha). */
  colour: boolean;
}

/** Size and colour of an image file from its header (no pixel decoding), for default shapes. */
export async function readImageHeader(path: string): Promise<ImageHeader> {
  const { default: sharp } = await import('sharp');
  try {
    const m = await sharp(path).metadata();
    if (!m.width || !m.height) throw new Error('no size in the header');
    return { width: m.width, height: m.height, colour: m.channels! >= 3 && m.space !== 'b-w' };
  } catch (e) {
    throw new ImageDecodeError(`${path}: not a decodable image (${oneLine((e as Error).message)})`);
  }
}

/**
 * Bring in-memory images (e.g. Fashion-MNIST) to another [C, H, W] with the same rule as files:
 * stretched by sharp, gray replicated to RGB or RGB reduced to luminance. Identity when equal.
 */
export async function conformImages(images: Float32Array, n: number, from: readonly number[], to: readonly number[]): Promise<Float32Array> {
  const [c0, h0, w0] = checkImageShape(from, 'the images');
  const [c, h, w] = checkImageShape(to);
  if (c0 === c && h0 === h && w0 === w) return images;
  const { default: sharp } = await import('sharp');
  const inSize = c0 * h0 * w0;
  const out = new Float32Array(n * c * h * w);
  const one = async (i: number) => {
    const src = images.subarray(i * inSize, (i + 1) * inSize);
    const hwc = Buffer.alloc(inSize);
    for (let p = 0; p < h0 * w0; p++) for (let ch = 0; ch < c0; ch++) hwc[p * c0 + ch] = Math.round(Math.min(1, Math.max(0, src[ch * h0 * w0 + p]!)) * 255);
    let pipe = sharp(hwc, { raw: { width: w0, height: h0, channels: c0 as 1 | 3 } }).resize(w, h, { fit: 'fill' });
    pipe = c === 1 ? pipe.grayscale() : pipe.toColourspace('srgb');
    const raw = await pipe.raw().toBuffer({ resolveWithObject: true });
    if (raw.info.channels !== c) throw new Error(`conformImages: decoded to ${raw.info.channels} channels, expected ${c}`);
    out.set(planar(raw.data, c, h, w), i * c * h * w);
  };
  await inPool(n, 8, one);
  return out;
}

/** Run job(0..n-1) with at most `concurrency` in flight; the first error stops the rest. */
export async function inPool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    try {
      while (!failed && next < n) await job(next++);
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
}
