// POST /score.
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './context.js';

export function scoreRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { pool, opts, inputSize, samplesOf, checkJsonSize } = ctx;
  app.post('/score', { schema: ctx.schemas.score }, async (req) => {
    const s = await samplesOf(req);
    const { recon } = await pool.submit('forward', s.data, s.n);
    const pixels = (req.query as Record<string, string | undefined>).pixels;
    const withPixels = pixels === '1' || pixels === 'true';
    if (withPixels) checkJsonSize(s.n, inputSize);
    const scores: number[] = [];
    const errors: number[][] = [];
    for (let i = 0; i < s.n; i++) {
      let e = 0;
      const px: number[] = [];
      for (let j = i * inputSize; j < (i + 1) * inputSize; j++) {
        const d = (recon![j]! - s.data[j]!) ** 2;
        e += d;
        if (withPixels) px.push(d);
      }
      scores.push(e / inputSize);
      if (withPixels) errors.push(px);
    }
    const t = opts.threshold;
    return { n: s.n, scores, threshold: t ?? null, anomalous: t === undefined ? null : scores.map((v) => v > t), ...(withPixels ? { pixelErrors: errors } : {}) };
  });
}
