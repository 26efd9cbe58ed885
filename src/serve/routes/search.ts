// POST /search.
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http-error.js';
import type { NeighborRow } from '../../tasks/embed/search.js';
import type { RouteContext } from './context.js';

export function searchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { pool, search, codeSize, checkCount, jsonBody, samplesOf } = ctx;
  app.post('/search', { schema: ctx.schemas.search }, async (req) => {
    if (!search) throw new HttpError(404, 'no embeddings index loaded; run latentkit embed RUN, then start the service again (or pass --index FILE.parquet)');
    // Types and ranges are checked by the route's schema (schemas.ts).
    const q = req.query as { k?: number; exact?: string };
    const j = jsonBody(req) as { k?: number; exact?: boolean; split?: string; id?: number | number[]; vector?: number[] | number[][] } | undefined;
    const k = j?.k ?? q.k ?? 10;
    const exact = j?.exact === true || q.exact === '1' || q.exact === 'true';
    type Result = { query: Record<string, unknown>; neighbors: Omit<NeighborRow, 'row'>[] };
    const strip = (ns: NeighborRow[]) => ns.map(({ id, label, split, distance }) => ({ id, label, split, distance }));
    const results: Result[] = [];
    if (j && j.id !== undefined) {
      const ids = Array.isArray(j.id) ? j.id : [j.id];
      checkCount(ids.length);
      for (const id of ids) {
        let ns: NeighborRow[];
        try {
          ns = search.searchId(id, k, { exact, split: j.split });
        } catch (e) {
          throw new HttpError(404, (e as Error).message);
        }
        results.push({ query: { id }, neighbors: strip(ns) });
      }
      return { k, results };
    }
    let vectors: Float32Array;
    let n: number;
    if (j && j.vector !== undefined) {
      const vs = (Array.isArray(j.vector[0]) ? j.vector : [j.vector]) as number[][];
      checkCount(vs.length);
      vectors = new Float32Array(vs.length * codeSize);
      vs.forEach((v, i) => vectors.set(v, i * codeSize));
      n = vs.length;
    } else {
      const s = await samplesOf(req);
      vectors = (await pool.submit('encode', s.data, s.n)).codes!;
      n = s.n;
    }
    for (let i = 0; i < n; i++) results.push({ query: { index: i }, neighbors: strip(search.searchVector(vectors.subarray(i * codeSize, (i + 1) * codeSize), k, { exact })) });
    return { k, results };
  });
}
