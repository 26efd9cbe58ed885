// POST /reconstruct.
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './context.js';

export function reconstructRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { pool, inputShape, inputSize, samplesOf, sendImages, wants, rows, sendRaw } = ctx;
  app.post('/reconstruct', { schema: ctx.schemas.reconstruct }, async (req, reply) => {
    const s = await samplesOf(req);
    const { recon } = await pool.submit('forward', s.data, s.n);
    if (wants(req, 'image/png')) return sendImages(reply, recon!, s.n);
    if (wants(req, 'application/octet-stream')) return sendRaw(reply, recon!, [s.n, ...inputShape]);
    const mse = Array.from({ length: s.n }, (_, i) => {
      let e = 0;
      for (let j = i * inputSize; j < (i + 1) * inputSize; j++) e += (recon![j]! - s.data[j]!) ** 2;
      return e / inputSize;
    });
    return { n: s.n, shape: inputShape, reconstructions: rows(recon!, s.n, inputSize), mse };
  });
}
