// How good are a run's codes as features? Two standard measures on Fashion-MNIST, each run
// against the same two baselines:
//   kNN label agreement@k  mean fraction of a test sample's k nearest test samples (itself left
//                          out, Euclidean in code space) that share its label: what `search`
//                          gives a user looking for similar items
//   linear-probe accuracy  a logistic regression trained on the train split's codes
//                          (standardised with train statistics), scored on the test split: how
//                          linearly separable the classes are in the code
// Baselines: the raw pixels, and PCA of the pixels (fitted on the train split) with the same
// width as each run's code, the linear code of equal size.
import { loadFashionMnist, dataSource, type Split } from '../../data/fashion-mnist.js';
import type { ImageSet } from '../../data/dataset.js';
import { loadRun } from '../../train/run-folder.js';
import { embedImages } from './embed.js';
import { AutoencoderRunner } from '../../runtime/inference.js';
import { exactKnnBatch, labelAgreement } from '../../numerics/knn.js';
import { pca, pcaTransform } from '../../numerics/pca.js';
import { classificationMetrics } from '../../metrics/classification.js';
import { standardise } from '../../numerics/rows.js';
import { fitPredictHead } from '../../train/fit-head.js';

export interface FeatureSplit {
  vectors: Float32Array;
  labels: Int32Array;
  n: number;
}

export interface FeatureSet {
  name: string;
  width: number;
  train: FeatureSplit;
  test: FeatureSplit;
}

export interface EmbeddingEvalOptions {
  /** Neighbours for label agreement (default 10). */
  k?: number;
  /** Use only the first N training images for the probe (and the PCA fit). */
  limitTrain?: number;
  /** Use only the first N test images. */
  limitTest?: number;
  dataDir?: string;
  checkpoint?: 'best' | 'last';
  /** Add the raw-pixel baseline (default true). */
  raw?: boolean;
  /** Add a PCA baseline for each distinct code width (default true). */
  pca?: boolean;
  /** PCA widths to use instead of the runs' code widths. */
  pcaWidths?: number[];
  /** Logistic-regression probe: 20 epochs, batch 128, Adam lr 3e-3, no weight decay. */
  probe?: { epochs?: number; batchSize?: number; lr?: number; weightDecay?: number };
  seed?: number;
  log?: (line: string) => void;
}

export interface EmbeddingEvalRow {
  features: string;
  width: number;
  /** Dimensions that vary over the test split (a ReLU code can have dead channels). */
  activeDims: number;
  knnAgreement: number;
  probeAccuracy: number;
  seconds: number;
}

export interface EmbeddingEvalResult {
  k: number;
  trainRows: number;
  testRows: number;
  rows: EmbeddingEvalRow[];
}

/** Label agreement@k (leave-one-out on the test split) and linear-probe accuracy of one feature set. */
export async function evaluateFeatureSet(f: FeatureSet, o: Pick<EmbeddingEvalOptions, 'k' | 'probe' | 'seed'> = {}): Promise<EmbeddingEvalRow> {
  const t0 = performance.now();
  const { test, train, width } = f;
  const knn = await exactKnnBatch(test.vectors, test.n, test.vectors, test.n, width, o.k ?? 10, { excludeSelf: true });
  const knnAgreement = labelAgreement(knn, test.labels, test.labels);
  // A loop, not Math.max(...labels): spreading 70,000 labels as arguments risks the call stack.
  const classes = [train.labels, test.labels].reduce((m, ls) => ls.reduce((a, b) => Math.max(a, b), m), 0) + 1;
  const [xtr, xte] = standardise(train.vectors, test.vectors, width);
  const head = { epochs: 20, batchSize: 128, lr: 3e-3, weightDecay: 0, ...o.probe };
  const probs = await fitPredictHead('logreg', 'classification', classes, xtr, train.labels, xte, width, { ...head, mlpLr: head.lr, hidden: 0, dropout: 0 }, o.seed ?? 0);
  const probeAccuracy = classificationMetrics(probs, test.labels, classes).accuracy!;
  return { features: f.name, width, activeDims: activeDims(test.vectors, test.n, width), knnAgreement, probeAccuracy, seconds: (performance.now() - t0) / 1000 };
}

/** Compare the codes of several runs with raw pixels and same-width PCA on Fashion-MNIST. */
export async function evaluateEmbeddings(runDirs: string[], o: EmbeddingEvalOptions = {}): Promise<EmbeddingEvalResult> {
  const log = o.log ?? (() => {});
  const load = (split: Split, limit?: number) => loadFashionMnist(split, { ...dataSource(o.dataDir), limit });
  const [trainImages, testImages] = await Promise.all([load('train', o.limitTrain), load('test', o.limitTest)]);
  // Each split's labels once, shared by every feature set.
  const [trainLabels, testLabels] = [Int32Array.from(trainImages.labels), Int32Array.from(testImages.labels)];
  const featureSplits = (train: Float32Array, test: Float32Array): Pick<FeatureSet, 'train' | 'test'> => ({
    train: { vectors: train, labels: trainLabels, n: trainImages.n },
    test: { vectors: test, labels: testLabels, n: testImages.n },
  });
  const sets: (() => Promise<FeatureSet>)[] = [];
  const widths = new Set<number>();
  for (const dir of runDirs) {
    const run = loadRun(dir, o.checkpoint ?? 'best');
    widths.add(run.model.bottleneckShape());
    sets.push(async () => {
      // One runner for both splits: its graph is compiled (and its layout timed) once.
      const runner = AutoencoderRunner.fromRun(run);
      try {
        const [train, test] = [await embedImages(runner, trainImages, 'train'), await embedImages(runner, testImages, 'test')];
        return { name: dir, width: runner.codeSize, ...featureSplits(train.vectors, test.vectors) };
      } finally {
        await runner.release();
      }
    });
  }
  const pixelWidth = trainImages.images.length / trainImages.n;
  if (o.raw ?? true) sets.push(async () => ({ name: 'raw pixels', width: pixelWidth, ...featureSplits(trainImages.images, testImages.images) }));
  if (o.pca ?? true)
    for (const w of [...new Set(o.pcaWidths ?? widths)].sort((a, b) => a - b))
      sets.push(async () => {
        const p = pca(trainImages.images, trainImages.n, pixelWidth, w, { seed: o.seed ?? 0 });
        const project = (s: ImageSet) => Float32Array.from(pcaTransform(p, s.images, s.n));
        return { name: `PCA-${w} of pixels`, width: w, ...featureSplits(project(trainImages), project(testImages)) };
      });
  const rows: EmbeddingEvalRow[] = [];
  for (const make of sets) {
    const f = await make();
    const row = await evaluateFeatureSet(f, o);
    log(`${row.features}: width ${row.width} (${row.activeDims} active), kNN@${o.k ?? 10} agreement ${row.knnAgreement.toFixed(4)}, linear probe ${row.probeAccuracy.toFixed(4)} (${row.seconds.toFixed(1)} s)`);
    rows.push(row);
  }
  return { k: o.k ?? 10, trainRows: trainImages.n, testRows: testImages.n, rows };
}

/** Number of dimensions whose standard deviation is above 1e-6 of the largest one. */
export function activeDims(vectors: Float32Array, n: number, width: number): number {
  const sd = Array.from({ length: width }, (_, j) => {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = vectors[i * width + j]!;
      s += v;
      s2 += v * v;
    }
    return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
  });
  const top = Math.max(...sd);
  return top > 0 ? sd.filter((x) => x > 1e-6 * top).length : 0;
}

/** The result as a Markdown table. */
export function formatEmbeddingEval(r: EmbeddingEvalResult): string {
  const lines = [
    `| features | width | active dims | kNN@${r.k} label agreement | linear-probe accuracy |`,
    '|---|---:|---:|---:|---:|',
    ...r.rows.map((x) => `| ${x.features} | ${x.width} | ${x.activeDims} | ${x.knnAgreement.toFixed(4)} | ${x.probeAccuracy.toFixed(4)} |`),
  ];
  return lines.join('\n');
}
