// POST /embed.
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './context.js';

export function embedRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { pool, codeSize, samplesOf, wants, rows, sendRaw } = ctx;
  app.post('/embed', { schema: ctx.schemas.embed }, async (req, reply) => {
    const s = await samplesOf(req);
    const { codes } = await pool.submit('encode', s.data, s.n);
    if (wants(req, 'application/octet-stream')) return sendRaw(reply, codes!, [s.n, codeSize]);
    return { n: s.n, dim: codeSize, codes: rows(codes!, s.n, codeSize) };
  });
}
