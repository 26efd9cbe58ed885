// Turn image files or bytes (PNG, JPEG, WebP, ...) into model input: float32 CHW in [0, 1],
// resized to the model's input size. Decoding goes through sharp (libvips).
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

/**
 * Decode one image to `shape` = [channels, height, width] (channels 1 or 3), values pixel / 255.
 * Alpha is composited onto black (Fashion-MNIST's background); other sizes are stretched.
 */
export async function decodeImage(bytes: Uint8Array, shape: readonly number[], opts: DecodeImageOptions = {}): Promise<Float32Array> {
  const [c, h, w] = shape as [number, number, number];
  if (shape.length !== 3 || (c !== 1 && c !== 3)) throw new Error(`decodeImage: the model's input [${shape}] is not an image (need [1|3, H, W])`);
  const fast = decodeExactPng(bytes, c, h, w);
  if (fast) return fast;
  const { default: sharp } = await import('sharp');
  let raw: Buffer;
  try {
    const img = sharp(bytes, { limitInputPixels: opts.maxPixels ?? 4096 * 4096, failOn: 'error' });
    let p = img.flatten({ background: '#000000' }).resize(w, h, { fit: 'fill' });
    p = c === 1 ? p.grayscale() : p.toColourspace('srgb');
    const out = await p.raw().toBuffer({ resolveWithObject: true });
    if (out.info.channels !== c) throw new Error(`decoded to ${out.info.channels} channels, expected ${c}`);
    raw = out.data;
  } catch (e) {
    throw new ImageDecodeError(`not a decodable image (${(e as Error).message})`);
  }
  // sharp gives interleaved HWC; the model wants CHW.
  const x = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) for (let ch = 0; ch < c; ch++) x[ch * h * w + i] = raw[i * c + ch]! / 255;
  return x;
}

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

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

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

export async function readImageFile(path: string, shape: readonly number[]): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  try {
    return await decodeImage(bytes, shape);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}
