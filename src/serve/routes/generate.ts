// POST /generate.
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http-error.js';
import { Rng } from '../../util/random.js';
import type { RouteContext } from './context.js';

export function generateRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { pool, inputShape, inputSize, codeSize, checkCount, jsonBody, sendImages, wants, rows, sendRaw } = ctx;
  app.post('/generate', async (req, reply) => {
    // Samples from the prior N(0, std² I), decoded: {"n": 16, "seed": 0, "std": 1}.
    const j = jsonBody(req) ?? {};
    const q = req.query as Record<string, string | undefined>;
    const num = (name: string, def: number) => {
      const v = j[name] ?? q[name] ?? def;
      const x = Number(v);
      if (typeof v === 'boolean' || !Number.isFinite(x)) throw new HttpError(400, `"${name}" must be a number, got ${JSON.stringify(v)}`);
      return x;
    };
    const n = num('n', 1);
    if (!Number.isInteger(n) || n < 1) throw new HttpError(400, `"n" must be a positive integer, got ${n}`);
    checkCount(n);
    const seed = num('seed', Math.floor(Math.random() * 2 ** 31));
    const std = num('std', 1);
    if (!(std > 0)) throw new HttpError(400, `"std" must be positive, got ${std}`);
    const codes = new Rng(seed).fillNormal(new Float32Array(n * codeSize), 0, std);
    const { recon } = await pool.submit('decode', codes, n);
    if (wants(req, 'image/png')) return sendImages(reply, recon!, n);
    if (wants(req, 'application/octet-stream')) return sendRaw(reply, recon!, [n, ...inputShape]);
    return { n, seed, std, codes: rows(codes, n, codeSize), images: rows(recon!, n, inputSize) };
  });
}
