// The bottleneck as data: codes of a dataset split written to Parquet (id, label, split,
// vector), and an approximate-nearest-neighbour index (HNSW, hnswlib) persisted beside it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { readJsonFile } from '../../data/json-file.js';
import { writeFileAtomic } from '../../util/atomic.js';
import type { ImageSet } from '../../data/dataset.js';
import type { Split } from '../../data/fashion-mnist.js';
import { loadRunImages } from '../../data/run-images.js';
import { loadRun, type LoadedRun } from '../../train/run-folder.js';
import { AutoencoderRunner } from '../../runtime/inference.js';
import { exactKnn } from '../../numerics/knn.js';

export { exactKnn };

/** Codes of n samples, one row each. */
export interface Embeddings {
  n: number;
  dim: number;
  /** Index of each sample in its split. */
  ids: Int32Array;
  /** Class label, or -1 when unknown. */
  labels: Int32Array;
  splits: string[];
  /** n x dim, row-major. */
  vectors: Float32Array;
  /** What wrote the file (run folder, model, ...), from the Parquet key-value metadata. */
  meta?: Record<string, unknown>;
}

export const PARQUET_META_KEY = 'latentkit';

/** Write embeddings as Parquet: id INT32, label INT32, split STRING, vector LIST<FLOAT>. */
export async function writeEmbeddingsParquet(path: string, e: Embeddings, meta: Record<string, unknown> = {}): Promise<void> {
  if (e.vectors.length !== e.n * e.dim) throw new Error(`writeEmbeddingsParquet: ${e.vectors.length} values for ${e.n} x ${e.dim}`);
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const vectors: number[][] = [];
  for (let i = 0; i < e.n; i++) vectors.push(Array.from(e.vectors.subarray(i * e.dim, (i + 1) * e.dim)));
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: e.ids },
      { name: 'label', data: e.labels },
      { name: 'split', data: e.splits },
      { name: 'vector', data: vectors },
    ],
    schema: [
      { name: 'root', num_children: 4 },
      { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
      { name: 'label', type: 'INT32', repetition_type: 'REQUIRED' },
      { name: 'split', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      // The standard 3-level LIST, which pyarrow, pandas, DuckDB and Spark read as an array column.
      { name: 'vector', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
    ],
    kvMetadata: [{ key: PARQUET_META_KEY, value: JSON.stringify({ ...meta, dim: e.dim, rows: e.n }) }],
    createdBy: 'latentkit',
  });
  writeFileAtomic(path, new Uint8Array(buf));
}

/** Read a Parquet file written by writeEmbeddingsParquet (or any file with the same columns). */
export async function readEmbeddingsParquet(path: string): Promise<Embeddings> {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const { parquetMetadata, parquetReadObjects } = await import('hyparquet');
  let rows: Record<string, unknown>[];
  let kv: { key: string; value?: string }[] | undefined;
  try {
    kv = parquetMetadata(file).key_value_metadata;
    rows = await parquetReadObjects({ file, columns: ['id', 'label', 'split', 'vector'] });
  } catch (e) {
    throw new Error(`${path}: not a readable Parquet embeddings file (${(e as Error).message})`);
  }
  const n = rows.length;
  const first = rows[0]?.vector;
  if (n && !Array.isArray(first)) throw new Error(`${path}: column "vector" is not a list of numbers`);
  const dim = n ? (first as number[]).length : 0;
  const e: Embeddings = { n, dim, ids: new Int32Array(n), labels: new Int32Array(n), splits: new Array<string>(n), vectors: new Float32Array(n * dim) };
  rows.forEach((r, i) => {
    const v = r.vector as number[];
    if (!Array.isArray(v) || v.length !== dim) throw new Error(`${path}: row ${i} has a vector of ${Array.isArray(v) ? v.length : 'no'} values, expected ${dim}`);
    e.vectors.set(v, i * dim);
    e.ids[i] = Number(r.id);
    e.labels[i] = r.label === null || r.label === undefined ? -1 : Number(r.label);
    e.splits[i] = String(r.split ?? '');
  });
  const raw = kv?.find((x) => x.key === PARQUET_META_KEY)?.value;
  if (raw) e.meta = JSON.parse(raw) as Record<string, unknown>;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Approximate nearest neighbours: HNSW (hnswlib, Malkov & Yashunin 2016) over L2 distance.

export interface AnnOptions {
  /** Graph degree (default 16). */
  m?: number;
  /** Candidate list size while building (default 200). */
  efConstruction?: number;
  /** Candidate list size while searching (default 64; raised to k when k is larger). */
  efSearch?: number;
  /** Seed of the level generator, for reproducible graphs (default 100). */
  seed?: number;
}

export interface Neighbor {
  /** Row of the neighbour in the embeddings (and its label in the index). */
  row: number;
  /** Euclidean distance to the query. */
  distance: number;
}

type Hnsw = import('hnswlib-node').HierarchicalNSW;

async function hnswlib(): Promise<typeof import('hnswlib-node')> {
  try {
    return (await import('hnswlib-node')).default;
  } catch (e) {
    throw new Error(`the ANN index needs the native package hnswlib-node, which did not load (${(e as Error).message}); reinstall it with npm rebuild hnswlib-node (needs g++ and make)`);
  }
}

export interface AnnIndexMeta extends Required<AnnOptions> {
  format: 'hnswlib';
  space: 'l2';
  dim: number;
  count: number;
}

export class AnnIndex {
  private ef: number;
  private constructor(private readonly hnsw: Hnsw, readonly meta: AnnIndexMeta) {
    this.ef = meta.efSearch;
    hnsw.setEf(this.ef);
  }

  get dim(): number {
    return this.meta.dim;
  }
  get count(): number {
    return this.meta.count;
  }

  /** Build an index over n vectors; row i gets label i. */
  static async build(vectors: Float32Array, n: number, dim: number, opts: AnnOptions = {}): Promise<AnnIndex> {
    if (!(n > 0 && dim > 0)) throw new Error(`AnnIndex.build: need at least one vector of dimension > 0 (got ${n} x ${dim})`);
    if (vectors.length < n * dim) throw new Error(`AnnIndex.build: ${vectors.length} values for ${n} x ${dim}`);
    const { HierarchicalNSW } = await hnswlib();
    const meta: AnnIndexMeta = { format: 'hnswlib', space: 'l2', dim, count: n, m: opts.m ?? 16, efConstruction: opts.efConstruction ?? 200, efSearch: opts.efSearch ?? 64, seed: opts.seed ?? 100 };
    const h = new HierarchicalNSW('l2', dim);
    h.initIndex({ maxElements: n, m: meta.m, efConstruction: meta.efConstruction, randomSeed: meta.seed });
    for (let i = 0; i < n; i++) h.addPoint(Array.from(vectors.subarray(i * dim, (i + 1) * dim)), i);
    return new AnnIndex(h, meta);
  }

  /** The index file and its JSON sidecar (`PATH.json`). */
  save(path: string): void {
    writeFileAtomic(`${path}.json`, JSON.stringify(this.meta, null, 2) + '\n');
    // hnswlib writes the file itself: write a temp name beside it, then rename (atomic).
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      this.hnsw.writeIndexSync(tmp);
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  static async load(path: string): Promise<AnnIndex> {
    if (!existsSync(path)) throw new Error(`${path}: no such index file`);
    if (!existsSync(`${path}.json`)) throw new Error(`${path}.json: the index's sidecar is missing`);
    const meta = readJsonFile<AnnIndexMeta>(`${path}.json`, 'index sidecar');
    if (meta.format !== 'hnswlib' || meta.space !== 'l2') throw new Error(`${path}: unsupported index ${meta.format}/${meta.space}`);
    const { HierarchicalNSW } = await hnswlib();
    const h = new HierarchicalNSW('l2', meta.dim);
    h.readIndexSync(path);
    if (h.getCurrentCount() !== meta.count) throw new Error(`${path}: holds ${h.getCurrentCount()} vectors, its sidecar says ${meta.count}`);
    return new AnnIndex(h, meta);
  }

  /** The k nearest rows to `query`, nearest first; `exclude` drops that row (a query's own). */
  search(query: ArrayLike<number>, k: number, exclude?: number): Neighbor[] {
    if (query.length !== this.meta.dim) throw new Error(`query has ${query.length} values, the index holds vectors of ${this.meta.dim}`);
    const want = Math.min(this.meta.count, k + (exclude === undefined ? 0 : 1));
    if (want <= 0) return [];
    const ef = Math.max(this.meta.efSearch, want);
    if (ef !== this.ef) this.hnsw.setEf((this.ef = ef));
    const r = this.hnsw.searchKnn(Array.from(query), want);
    let out = r.neighbors.map((row, i) => ({ row, distance: Math.sqrt(Math.max(0, r.distances[i]!)) }));
    if (exclude !== undefined) out = out.filter((x) => x.row !== exclude);
    return out.slice(0, k);
  }
}

// ---------------------------------------------------------------------------------------------
// The embed command as a function.

export interface EmbedOptions {
  split?: Split;
  limit?: number;
  dataDir?: string;
  checkpoint?: 'best' | 'last';
  /** Parquet file to write (default RUN/embeddings/SPLIT.parquet). */
  out?: string;
  /** Build and save the ANN index beside the Parquet file (default true). */
  index?: boolean;
  ann?: AnnOptions;
  batchSize?: number;
}

export interface EmbedResult {
  parquet: string;
  /** The HNSW index file (its sidecar is `index + '.json'`), unless disabled. */
  index?: string;
  n: number;
  dim: number;
  seconds: { embed: number; index: number };
}

/** The index file that goes with a Parquet file: codes.parquet -> codes.hnsw. */
export function indexPathFor(parquet: string): string {
  const ext = extname(parquet);
  return join(dirname(parquet), `${basename(parquet, ext)}.hnsw`);
}

/** Where a run remembers the last embeddings written for it (what `search RUN` opens). */
export function latestPointerPath(runDir: string): string {
  return join(runDir, 'embeddings', 'latest.json');
}

/** Codes of a split of the run's dataset (every class), as Embeddings. */
export async function embedSplit(run: LoadedRun, opts: Pick<EmbedOptions, 'split' | 'limit' | 'dataDir' | 'batchSize'> = {}): Promise<Embeddings> {
  const split = opts.split ?? 'test';
  const data = await loadRunImages(run.config, run.inputShape, { split, limit: opts.limit, dataDir: opts.dataDir, classes: 'all' });
  const runner = AutoencoderRunner.fromRun(run, { batchSize: opts.batchSize });
  try {
    return await embedImages(runner, data, split);
  } finally {
    await runner.release();
  }
}

/** Codes of a set of images (ids are their positions), as Embeddings; the runner is reused, not released. */
export async function embedImages(runner: AutoencoderRunner, data: ImageSet, split: string): Promise<Embeddings> {
  if (data.shape.join(',') !== runner.inputShape.join(',')) throw new Error(`images are [${data.shape}] but the run's model takes [${runner.inputShape}]`);
  const vectors = await runner.encode(data.images, data.n);
  return {
    n: data.n,
    dim: runner.codeSize,
    ids: Int32Array.from({ length: data.n }, (_, i) => i),
    labels: Int32Array.from(data.labels),
    splits: new Array<string>(data.n).fill(split),
    vectors,
  };
}

export async function embedRun(runDir: string, opts: EmbedOptions = {}): Promise<EmbedResult> {
  const split = opts.split ?? 'test';
  const run = loadRun(runDir, opts.checkpoint ?? 'best');
  const t0 = performance.now();
  const e = await embedSplit(run, opts);
  const t1 = performance.now();
  const parquet = resolve(opts.out ?? join(runDir, 'embeddings', `${split}.parquet`));
  const meta = { run: resolve(runDir), checkpoint: opts.checkpoint ?? 'best', model: run.modelConfig, codeShape: run.model.codeShape(), inputShape: run.inputShape, dataset: run.config.dataset ?? 'fashion-mnist', split, limit: opts.limit ?? null, created: new Date().toISOString() };
  let index: string | undefined;
  if (opts.index !== false) index = indexPathFor(parquet);
  await writeEmbeddingsParquet(parquet, e, { ...meta, index: index ? basename(index) : null });
  const t2 = performance.now();
  if (index) (await AnnIndex.build(e.vectors, e.n, e.dim, opts.ann)).save(index);
  const t3 = performance.now();
  try {
    writeFileAtomic(latestPointerPath(runDir), JSON.stringify({ parquet, index: index ?? null, split, rows: e.n, written: meta.created }, null, 2) + '\n');
  } catch {
    // A read-only run folder only loses the default for `search RUN`.
  }
  return { parquet, index, n: e.n, dim: e.dim, seconds: { embed: (t1 - t0) / 1000, index: (t3 - t2) / 1000 } };
}
