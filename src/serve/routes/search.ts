// POST /search.
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http-error.js';
import type { NeighborRow } from '../../tasks/embed/search.js';
import type { RouteContext } from './context.js';

export function searchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { pool, search, codeSize, maxK, checkCount, jsonBody, samplesOf } = ctx;
  app.post('/search', async (req) => {
    if (!search) throw new HttpError(404, 'no embeddings index loaded; run latentkit embed RUN, then start the service again (or pass --index FILE.parquet)');
    const q = req.query as Record<string, string | undefined>;
    const j = jsonBody(req);
    const kRaw = j?.k ?? q.k ?? 10;
    const k = Number(kRaw);
    if (!Number.isInteger(k) || k < 1 || k > maxK) throw new HttpError(400, `k must be an integer from 1 to ${maxK}, got ${JSON.stringify(kRaw)}`);
    const exact = j?.exact === true || q.exact === '1' || q.exact === 'true';
    type Result = { query: Record<string, unknown>; neighbors: Omit<NeighborRow, 'row'>[] };
    const strip = (ns: NeighborRow[]) => ns.map(({ id, label, split, distance }) => ({ id, label, split, distance }));
    const results: Result[] = [];
    if (j && j.id !== undefined) {
      const ids = Array.isArray(j.id) ? j.id : [j.id];
      checkCount(ids.length);
      for (const id of ids) {
        if (!Number.isInteger(id)) throw new HttpError(400, `"id" must be an integer (or a list), got ${JSON.stringify(id)}`);
        if (j.split !== undefined && typeof j.split !== 'string') throw new HttpError(400, '"split" must be a string');
        let ns: NeighborRow[];
        try {
          ns = search.searchId(id as number, k, { exact, split: j.split as string | undefined });
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
      const vs = Array.isArray(j.vector) && Array.isArray(j.vector[0]) ? (j.vector as unknown[]) : [j.vector];
      checkCount(vs.length);
      vectors = new Float32Array(vs.length * codeSize);
      vs.forEach((v, i) => {
        if (!Array.isArray(v) || v.length !== codeSize || v.some((x) => typeof x !== 'number' || !Number.isFinite(Math.fround(x))))
          throw new HttpError(400, `vector${vs.length > 1 ? `[${i}]` : ''}: expected ${codeSize} finite numbers within the 32-bit float range (3.4e38)`);
        vectors.set(v as number[], i * codeSize);
      });
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
