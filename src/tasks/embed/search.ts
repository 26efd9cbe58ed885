// Nearest neighbours in code space: query the ANN index by sample id, by vector or by image,
// and measure the index against exact search (recall@k) and the codes against the labels
// (label agreement@k).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readJsonFile } from '../../data/json-file.js';
import { Rng } from '../../util/random.js';
import { loadRun } from '../../train/run-folder.js';
import { AnnIndex, exactKnn, indexPathFor, latestPointerPath, readEmbeddingsParquet, type Embeddings, type Neighbor } from './embed.js';
import { readImageFile } from '../../data/image-file.js';
import { AutoencoderRunner } from '../../runtime/inference.js';

export interface NeighborRow extends Neighbor {
  id: number;
  label: number;
  split: string;
}

/** Embeddings and their index, opened together. */
export class EmbeddingSearch {
  private readonly rowById = new Map<string, number>();

  constructor(readonly embeddings: Embeddings, readonly index: AnnIndex, readonly parquet: string) {
    if (index.count !== embeddings.n || index.dim !== embeddings.dim)
      throw new Error(`${parquet}: the index holds ${index.count} x ${index.dim} vectors but the file ${embeddings.n} x ${embeddings.dim}; run embed again`);
    for (let r = 0; r < embeddings.n; r++) {
      const key = `${embeddings.splits[r]}:${embeddings.ids[r]}`;
      if (!this.rowById.has(key)) this.rowById.set(key, r);
      if (!this.rowById.has(`:${embeddings.ids[r]}`)) this.rowById.set(`:${embeddings.ids[r]}`, r);
    }
  }

  /** Open PARQUET and the index beside it (codes.parquet + codes.hnsw). */
  static async open(parquet: string): Promise<EmbeddingSearch> {
    const e = await readEmbeddingsParquet(parquet);
    const idx = await AnnIndex.load(indexPathFor(parquet));
    return new EmbeddingSearch(e, idx, parquet);
  }

  /** Open `index` if given, else the last embeddings `embed` wrote for the run. */
  static async forRun(runDir: string, index?: string): Promise<EmbeddingSearch> {
    return EmbeddingSearch.open(resolveEmbeddings(runDir, index));
  }

  /** Row of a sample id (optionally of one split, when the file mixes splits). */
  rowOf(id: number, split?: string): number {
    const r = this.rowById.get(`${split ?? ''}:${id}`);
    if (r === undefined) throw new RangeError(`no sample with id ${id}${split ? ` in split ${split}` : ''} in ${this.parquet} (${this.embeddings.n} rows)`);
    return r;
  }

  vectorOf(row: number): Float32Array {
    const { dim, vectors } = this.embeddings;
    return vectors.subarray(row * dim, (row + 1) * dim);
  }

  private rows(ns: Neighbor[]): NeighborRow[] {
    const e = this.embeddings;
    return ns.map((x) => ({ ...x, id: e.ids[x.row]!, label: e.labels[x.row]!, split: e.splits[x.row]! }));
  }

  /** Top-k neighbours of a vector; `exact` uses brute force instead of the index. */
  searchVector(v: ArrayLike<number>, k = 10, opts: { exact?: boolean; excludeRow?: number } = {}): NeighborRow[] {
    const e = this.embeddings;
    if (v.length !== e.dim) throw new Error(`the query has ${v.length} values, the codes ${e.dim}`);
    const ns = opts.exact ? exactKnn(e.vectors, e.n, e.dim, v, k, opts.excludeRow) : this.index.search(v, k, opts.excludeRow);
    return this.rows(ns);
  }

  /** Top-k neighbours of a sample in the file, the sample itself left out. */
  searchId(id: number, k = 10, opts: { exact?: boolean; split?: string } = {}): NeighborRow[] {
    const row = this.rowOf(id, opts.split);
    return this.searchVector(this.vectorOf(row), k, { exact: opts.exact, excludeRow: row });
  }
}

/** The Parquet file `search RUN` uses: `index` if given, else RUN/embeddings/latest.json's. */
export function resolveEmbeddings(runDir: string, index?: string): string {
  if (index) return resolve(index);
  const ptr = latestPointerPath(runDir);
  if (existsSync(ptr)) {
    const p = readJsonFile<{ parquet: string }>(ptr, 'embeddings pointer').parquet;
    if (existsSync(p)) return p;
    throw new Error(`${ptr} points at ${p}, which is gone; run latentkit embed ${runDir} again or pass --index FILE.parquet`);
  }
  throw new Error(`${runDir}: no embeddings yet; run latentkit embed ${runDir} first, or pass --index FILE.parquet`);
}

export interface SearchEvalOptions {
  k?: number;
  /** Number of query rows, drawn without replacement (default all, at most 2000). */
  queries?: number;
  seed?: number;
}

export interface SearchEval {
  k: number;
  queries: number;
  rows: number;
  /**
   * Mean fraction of the exact k nearest neighbours that the index returns. A returned row
   * counts when its distance is within the exact k-th distance (ties are interchangeable,
   * as in ann-benchmarks).
   */
  recallAtK: number;
  /** Mean fraction of the index's k neighbours with the query's label (labelled rows only). */
  labelAgreementAtK: number;
  /** The same with exact neighbours. */
  labelAgreementExactAtK: number;
  /** Mean milliseconds per query. */
  annMs: number;
  exactMs: number;
}

/** Recall@k of the index against exact search, and label agreement@k, over sampled queries. */
export function evaluateSearch(s: EmbeddingSearch, opts: SearchEvalOptions = {}): SearchEval {
  const e = s.embeddings;
  const k = Math.min(opts.k ?? 10, e.n - 1);
  if (k < 1) throw new Error('evaluation needs at least 2 rows');
  const q = Math.min(opts.queries ?? Math.min(e.n, 2000), e.n);
  const rows = q === e.n ? Int32Array.from({ length: e.n }, (_, i) => i) : new Rng(opts.seed ?? 0).permutation(e.n).subarray(0, q);
  let recall = 0, agreeAnn = 0, agreeExact = 0, labelled = 0, annMs = 0, exactMs = 0;
  for (const row of rows) {
    const v = s.vectorOf(row);
    let t = performance.now();
    const ann = s.index.search(v, k, row);
    annMs += performance.now() - t;
    t = performance.now();
    const exact = exactKnn(e.vectors, e.n, e.dim, v, k, row);
    exactMs += performance.now() - t;
    const kth = exact[exact.length - 1]!.distance;
    const tol = 1e-6 * Math.max(1, kth);
    const exactSet = new Set(exact.map((x) => x.row));
    let hit = 0;
    for (const x of ann) if (exactSet.has(x.row) || x.distance <= kth + tol) hit++;
    recall += hit / k;
    const lab = e.labels[row]!;
    if (lab >= 0) {
      labelled++;
      agreeAnn += ann.filter((x) => e.labels[x.row] === lab).length / k;
      agreeExact += exact.filter((x) => e.labels[x.row] === lab).length / k;
    }
  }
  return {
    k,
    queries: rows.length,
    rows: e.n,
    recallAtK: recall / rows.length,
    labelAgreementAtK: labelled ? agreeAnn / labelled : NaN,
    labelAgreementExactAtK: labelled ? agreeExact / labelled : NaN,
    annMs: annMs / rows.length,
    exactMs: exactMs / rows.length,
  };
}

/** Encode an image file with the run's encoder, for a query. */
export async function encodeImageFile(runDir: string, file: string, checkpoint: 'best' | 'last' = 'best'): Promise<Float32Array> {
  const run = loadRun(runDir, checkpoint);
  const x = await readImageFile(file, run.inputShape);
  const runner = AutoencoderRunner.fromRun(run);
  try {
    return await runner.encode(x, 1);
  } finally {
    await runner.release();
  }
}
