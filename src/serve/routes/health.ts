// GET /health, GET /metrics.
import type { FastifyInstance } from 'fastify';
import { basename, resolve } from 'node:path';
import type { RouteContext } from './context.js';

export function healthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { pool, search, opts, inputShape, codeSize, maxK, maxReq, bodyLimit, runDir, run, hasPrior, started, metrics, isClosing } = ctx;
  app.get('/health', async (_req, reply) => {
    const body = {
      status: isClosing() ? 'shutting down' : 'ok',
      run: basename(resolve(runDir)),
      model: run.modelConfig,
      inputShape,
      codeSize,
      index: search ? { file: basename(search.parquet), rows: search.embeddings.n } : null,
      generate: hasPrior,
      threshold: opts.threshold ?? null,
      limits: { bodyBytes: bodyLimit, batch: maxReq, k: maxK },
      pool: pool.stats(),
      uptimeSeconds: (Date.now() - started) / 1000,
    };
    return reply.code(isClosing() ? 503 : 200).send(body);
  });
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()));
}
