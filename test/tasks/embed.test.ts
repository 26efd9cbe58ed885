// embed and search: Parquet round trip, the HNSW index against exact search, the CLI, and
// the exported ONNX encoder giving the same codes as embed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadRun, runAutoencoder } from '../../src/train/run-folder.js';
import { AnnIndex, embedRun, exactKnn, indexPathFor, readEmbeddingsParquet, writeEmbeddingsParquet, type Embeddings } from '../../src/tasks/embed/embed.js';
import { EmbeddingSearch, evaluateSearch } from '../../src/tasks/embed/search.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { Rng } from '../../src/util/random.js';
import { runCli } from '../helpers/cli.js';
import { testDataDir, tinyRun, tmp } from '../helpers/tiny-run.js';

const cli = (args: string[]) => runCli(args);

let run: string;
before(async () => {
  run = await tinyRun();
});

test('Parquet round trip: ids, labels, splits, vectors and metadata come back exactly', async () => {
  const rng = new Rng(1);
  const n = 1234, dim = 7;
  const e: Embeddings = {
    n,
    dim,
    ids: Int32Array.from({ length: n }, (_, i) => 3 * i),
    labels: Int32Array.from({ length: n }, (_, i) => (i % 11) - 1),
    splits: Array.from({ length: n }, (_, i) => (i % 3 ? 'test' : 'train')),
    vectors: rng.fillNormal(new Float32Array(n * dim)),
  };
  const path = join(tmp(), 'sub', 'codes.parquet');
  await writeEmbeddingsParquet(path, e, { run: 'somewhere', note: 'x' });
  const back = await readEmbeddingsParquet(path);
  assert.equal(back.n, n);
  assert.equal(back.dim, dim);
  assert.deepEqual(back.ids, e.ids);
  assert.deepEqual(back.labels, e.labels);
  assert.deepEqual(back.splits, e.splits);
  assert.deepEqual(back.vectors, e.vectors);
  assert.equal(back.meta?.run, 'somewhere');
  assert.equal(back.meta?.dim, dim);
  // The file is real Parquet: magic bytes at both ends.
  const bytes = readFileSync(path);
  assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
  assert.equal(bytes.subarray(-4).toString(), 'PAR1');
});

test('exactKnn: brute force, nearest first, excludes the query row', () => {
  const v = Float32Array.from([0, 0, 1, 0, 3, 0, 0, 2, 10, 10]);
  const r = exactKnn(v, 5, 2, [0, 0], 3, 0);
  assert.deepEqual(r.map((x) => x.row), [1, 3, 2]);
  assert.deepEqual(r.map((x) => x.distance), [1, 2, 3]);
  assert.equal(exactKnn(v, 5, 2, [0, 0], 10).length, 5);
});

test('embed the test split: rows, labels and codes as the model computes them; HNSW recall@10 >= 0.9 against exact search', async () => {
  const dir = tmp();
  const out = join(dir, 'codes.parquet');
  const r = await embedRun(run, { out, dataDir: testDataDir() });
  const data = await loadFashionMnist('test', { dataDir: testDataDir(), searchSystem: false, download: false });
  assert.equal(r.n, data.n);
  assert.equal(r.dim, 4);
  assert.ok(existsSync(indexPathFor(out)) && existsSync(indexPathFor(out) + '.json'));
  const e = await readEmbeddingsParquet(out);
  assert.deepEqual(Array.from(e.labels.subarray(0, 50)), Array.from(data.labels.subarray(0, 50)));
  assert.equal(e.splits[0], 'test');
  assert.equal(e.meta?.split, 'test');
  const ref = await runAutoencoder(loadRun(run), data.images, 200);
  assert.deepEqual(e.vectors.subarray(0, 800), ref.codes);

  const s = await EmbeddingSearch.forRun(run); // the run remembers the latest embeddings
  const ev = evaluateSearch(s, { k: 10, queries: 1000 });
  assert.ok(ev.recallAtK >= 0.9, `recall@10 ${ev.recallAtK}`);
  assert.ok(ev.labelAgreementAtK > 0.1 && ev.labelAgreementAtK <= 1, `label agreement ${ev.labelAgreementAtK}`);

  // By id: never the query itself, distances ascending, and the index agrees with brute force.
  const ann = s.searchId(5, 10);
  const exact = s.searchId(5, 10, { exact: true });
  assert.equal(ann.length, 10);
  assert.ok(ann.every((x) => x.id !== 5));
  for (let i = 1; i < ann.length; i++) assert.ok(ann[i]!.distance >= ann[i - 1]!.distance);
  assert.ok(Math.abs(ann[0]!.distance - exact[0]!.distance) < 1e-5);

  // A saved index loads back to the same answers.
  const again = await AnnIndex.load(indexPathFor(out));
  assert.deepEqual(again.search(s.vectorOf(7), 5, 7).map((x) => x.row), s.index.search(s.vectorOf(7), 5, 7).map((x) => x.row));
});

test('CLI: embed, search --id / --eval, and the exported ONNX encoder gives the same codes within 1e-5', async () => {
  const dir = tmp();
  const out = join(dir, 'codes.parquet');
  const em = cli(['embed', run, '-o', out, '--limit', '600', '--data-dir', testDataDir()]);
  assert.equal(em.code, 0, em.err);
  assert.match(em.out, /600 rows, 4-number codes/);
  const se = cli(['search', run, '--id', '3', '--k', '4', '--json']);
  assert.equal(se.code, 0, se.err);
  const answer = JSON.parse(se.out) as { query: { id: number }; neighbours: { id: number; distance: number }[] };
  assert.deepEqual(answer.query, { id: 3 });
  const ns = answer.neighbours;
  assert.equal(ns.length, 4);
  assert.ok(ns.every((x) => x.id !== 3));
  const ev = cli(['search', run, '--eval', '--index', out]);
  assert.equal(ev.code, 0, ev.err);
  assert.match(ev.out, /recall@10 \(HNSW vs exact\): (0\.9\d+|1\.0000)/);
  const bad = cli(['search', run, '--id', '1', '--eval']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /exactly one of/);

  const ex = cli(['export', run, '-o', join(dir, 'model')]);
  assert.equal(ex.code, 0, ex.err);
  const session = await ort.InferenceSession.create(join(dir, 'model', 'encoder.onnx'));
  const data = await loadFashionMnist('test', { dataDir: testDataDir(), searchSystem: false, download: false, limit: 600 });
  const r = await session.run({ input: new ort.Tensor('float32', data.images, [600, 1, 28, 28]) });
  const onnxCodes = r.code!.data as Float32Array;
  const e = await readEmbeddingsParquet(out);
  assert.equal(onnxCodes.length, e.vectors.length);
  let worst = 0;
  for (let i = 0; i < onnxCodes.length; i++) worst = Math.max(worst, Math.abs(onnxCodes[i]! - e.vectors[i]!));
  assert.ok(worst <= 1e-5, `max |onnx - embed| = ${worst}`);
  await session.release();
});
