// Samples from a request body: JSON {"images": [...]} / {"image": ...} / {"png": [base64]}, one
// image (image/*), or raw little-endian float32 (application/octet-stream). Every number is checked
// (finite, within float32), every image's pixels are counted from its header before decoding.
import type { FastifyRequest } from 'fastify';
import { decodeImage, imagePixels } from '../data/image-file.js';
import { HttpError } from './http-error.js';

export interface Samples {
  data: Float32Array;
  n: number;
}

export interface SampleLimits {
  inputShape: readonly number[];
  inputSize: number;
  /** Most samples in one request. */
  maxReq: number;
  /** Most decoded image pixels in one request. */
  maxPixels: number;
}

export function sampleReader({ inputShape, inputSize, maxReq, maxPixels }: SampleLimits) {
  const checkCount = (n: number) => {
    if (n === 0) throw new HttpError(400, 'no samples in the request');
    if (n > maxReq) throw new HttpError(413, `${n} samples in one request; the limit is ${maxReq}`);
  };

  /** Copy one (possibly nested) array of numbers into dst[off..off+size). */
  const fillSample = (v: unknown, dst: Float32Array, off: number, where: string) => {
    let k = 0;
    const walk = (x: unknown, depth: number): void => {
      if (Array.isArray(x)) {
        if (depth > 4) throw new HttpError(400, `${where}: arrays nested too deep; expected shape [${inputShape}] or ${inputSize} flat values`);
        for (const y of x) walk(y, depth + 1);
        return;
      }
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new HttpError(400, `${where}: expected finite numbers, found ${JSON.stringify(x)?.slice(0, 20)}`);
      if (!Number.isFinite(Math.fround(x))) throw new HttpError(400, `${where}: ${x} is beyond the 32-bit floats the model computes in (3.4e38)`);
      if (k >= inputSize) throw new HttpError(400, `${where}: more than ${inputSize} values; expected shape [${inputShape}]`);
      dst[off + k++] = x;
    };
    walk(v, 0);
    if (k !== inputSize) throw new HttpError(400, `${where}: ${k} values; expected ${inputSize} (shape [${inputShape}])`);
  };

  const fromRaw = (body: Buffer, size: number, what: string): Samples => {
    const bytes = size * 4;
    if (body.length === 0) throw new HttpError(400, 'empty body');
    if (body.length % bytes !== 0) throw new HttpError(400, `raw body of ${body.length} bytes is not a whole number of ${what} (${size} float32 values = ${bytes} bytes each)`);
    const n = body.length / bytes;
    checkCount(n);
    const data = new Float32Array(n * size);
    new Uint8Array(data.buffer).set(body);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new HttpError(400, `raw body: value ${i} is not finite`);
    return { data, n };
  };

  const fromPng = async (list: unknown): Promise<Samples> => {
    const items = (typeof list === 'string' ? [list] : list) as string[];
    checkCount(items.length);
    const data = new Float32Array(items.length * inputSize);
    const decoded = items.map((s) => Buffer.from(s, 'base64'));
    // Read every image's size from its header first: the request's pixels are capped before any decoding.
    let pixels = 0;
    for (const b of decoded) pixels += await imagePixels(b);
    if (pixels > maxPixels) throw new HttpError(413, `the images of this request hold ${pixels} pixels; the limit is ${maxPixels} per request`);
    await Promise.all(
      decoded.map(async (bytes, i) => {
        if (!bytes.length) throw new HttpError(400, `png[${i}]: empty or not base64`);
        try {
          data.set(await decodeImage(bytes, inputShape), i * inputSize);
        } catch (e) {
          throw new HttpError(400, `png[${i}]: ${(e as Error).message}`);
        }
      }),
    );
    return { data, n: items.length };
  };

  const fromJson = async (b: Record<string, unknown>): Promise<Samples> => {
    if (b.png !== undefined) return fromPng(b.png);
    let items: unknown[];
    let name: string;
    // The route's schema has checked the body's shape: exactly one of png, images (an array) or image.
    if (b.images !== undefined) {
      items = b.images as unknown[];
      name = 'images';
    } else {
      items = [b.image];
      name = 'image';
    }
    checkCount(items.length);
    const data = new Float32Array(items.length * inputSize);
    items.forEach((s, i) => fillSample(s, data, i * inputSize, name === 'image' ? 'image' : `images[${i}]`));
    return { data, n: items.length };
  };

  const jsonBody = (req: FastifyRequest): Record<string, unknown> | undefined => {
    const b = req.body;
    // A JSON body is an object: the route's schema says so (schemas.ts).
    if (Buffer.isBuffer(b) || b === undefined || b === null) return undefined;
    return b as Record<string, unknown>;
  };

  const samplesOf = async (req: FastifyRequest): Promise<Samples> => {
    const b = req.body;
    if (Buffer.isBuffer(b)) {
      const ct = String(req.headers['content-type'] ?? '').toLowerCase();
      if (ct.startsWith('image/')) {
        if (!b.length) throw new HttpError(400, 'empty image body');
        const pixels = await imagePixels(b);
        if (pixels > maxPixels) throw new HttpError(413, `the image holds ${pixels} pixels; the limit is ${maxPixels} per request`);
        return { data: await decodeImage(b, inputShape), n: 1 };
      }
      return fromRaw(b, inputSize, 'samples');
    }
    const j = jsonBody(req);
    if (!j) throw new HttpError(400, 'missing body: send JSON {"images": [...]}, an image, or raw float32');
    return fromJson(j);
  };

  return { checkCount, jsonBody, samplesOf };
}
