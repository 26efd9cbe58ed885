// How the service answers: JSON rows (a non-finite value is a 500, never a null in a 200), raw
// float32 with an x-shape header, or a PNG grid, as the Accept header asks.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { imageGridPng } from '../viz/png.js';
import { HttpError } from './http-error.js';

/** A JSON number as the service writes it takes at most about this many bytes ("-0.123456789012345678,"). */
const JSON_BYTES_PER_NUMBER = 22;
const sizeText = (bytes: number) => (bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`);

export function answerHelpers(inputShape: readonly number[], maxAnswerBytes: number) {
  /** Refuse (413) a JSON answer of n x size numbers that would exceed the answer limit. */
  const checkJsonSize = (n: number, size: number) => {
    const bytes = n * size * JSON_BYTES_PER_NUMBER;
    if (bytes > maxAnswerBytes)
      throw new HttpError(413, `the JSON answer would take about ${sizeText(bytes)} (${n} x ${size} numbers); the limit is ${sizeText(maxAnswerBytes)}: send fewer samples, or ask for Accept: application/octet-stream`);
  };
  const sendImages = (reply: FastifyReply, images: Float32Array, n: number) => {
    const [c, h, w] = inputShape as [number, number, number];
    if (inputShape.length !== 3 || (c !== 1 && c !== 3)) throw new HttpError(406, 'this model does not output images');
    return reply.type('image/png').send(imageGridPng(images, { n, channels: c, height: h, width: w, cols: Math.min(n, 16), pad: n === 1 ? 0 : 2 }));
  };
  const wants = (req: FastifyRequest, type: string) => String(req.headers.accept ?? '').toLowerCase().includes(type);
  /** Model outputs as JSON rows; a non-finite value is a 500 with a message, never a null in a 200. */
  const rows = (a: Float32Array, n: number, size: number) => {
    checkJsonSize(n, size);
    const bad = a.subarray(0, n * size).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new HttpError(500, `the model produced a non-finite value (${a[bad]}) for sample ${Math.floor(bad / size)}`);
    return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * size, (i + 1) * size)));
  };
  const sendRaw = (reply: FastifyReply, a: Float32Array, shape: number[]) =>
    reply.type('application/octet-stream').header('x-shape', shape.join(',')).send(Buffer.from(a.buffer, a.byteOffset, a.byteLength));

  return { sendImages, wants, rows, sendRaw, checkJsonSize };
}

export type Answers = ReturnType<typeof answerHelpers>;
