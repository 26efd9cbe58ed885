// POST /generate.
import type { FastifyInstance } from 'fastify';
import { Rng } from '../../util/random.js';
import type { RouteContext } from './context.js';

export function generateRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { pool, inputShape, inputSize, codeSize, checkCount, jsonBody, sendImages, wants, rows, sendRaw } = ctx;
  app.post('/generate', { schema: ctx.schemas.generate }, async (req, reply) => {
    // Samples from the prior N(0, std² I), decoded: {"n": 16, "seed": 0, "std": 1}.
    // Types and ranges are checked by the route's schema (schemas.ts).
    const j = (jsonBody(req) ?? {}) as { n?: number; seed?: number; std?: number };
    const q = req.query as typeof j;
    const n = j.n ?? q.n ?? 1;
    checkCount(n);
    const seed = j.seed ?? q.seed ?? Math.floor(Math.random() * 2 ** 31);
    const std = j.std ?? q.std ?? 1;
    const codes = new Rng(seed).fillNormal(new Float32Array(n * codeSize), 0, std);
    const { recon } = await pool.submit('decode', codes, n);
    if (wants(req, 'image/png')) return sendImages(reply, recon!, n);
    if (wants(req, 'application/octet-stream')) return sendRaw(reply, recon!, [n, ...inputShape]);
    return { n, seed, std, codes: rows(codes, n, codeSize), images: rows(recon!, n, inputSize) };
  });
}
