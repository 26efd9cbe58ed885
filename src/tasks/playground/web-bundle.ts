// Everything the browser playground (web/) loads from its model/ folder, written from a run:
// the exported ONNX models and manifest (as `latentkit export`), a small embedding set (codes
// and thumbnails of test images, for nearest neighbours and slider ranges), and a training
// bundle: latentkit's own training-step ONNX model for a small MLP autoencoder with its
// starting weights and a few hundred training images, which onnxruntime-web runs step by step.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { FASHION_MNIST_CLASSES } from '../../data/fashion-mnist.js';
import { loadRunImages } from '../../data/run-images.js';
import { mseLoss } from '../../losses/index.js';
import { MLPAutoencoder } from '../../models/mlp-autoencoder.js';
import { saveOnnx } from '../../onnx/export.js';
import { Adam } from '../../optim/optimizer.js';
import { emitTrainingModel } from '../../runtime/training-model.js';
import { loadRun, runAutoencoder, type LoadedRun } from '../../train/run-folder.js';

/** Write autoencoder.onnx, encoder.onnx, decoder.onnx and manifest.json (the export command's files). */
export function exportRunModels(run: LoadedRun, out: string): { codeSize: number } {
  const m = run.model;
  const shape = run.inputShape;
  mkdirSync(out, { recursive: true });
  saveOnnx(join(out, 'autoencoder.onnx'), m, { inputs: [{ name: 'input', shape }], outputNames: ['reconstruction'] });
  saveOnnx(join(out, 'encoder.onnx'), m, { inputs: [{ name: 'input', shape }], outputNames: ['code'], fn: (mm, [x]) => (mm as typeof m).encode(x!).flatten(1) });
  const codeSize = m.bottleneckShape();
  saveOnnx(join(out, 'decoder.onnx'), m, { inputs: [{ name: 'code', shape: [codeSize] }], outputNames: ['reconstruction'], fn: (mm, [z]) => (mm as typeof m).decode(z!.reshape(['N', ...m.codeShape()])) });
  const manifest = { model: run.modelConfig, input: { name: 'input', shape: ['N', ...shape], dtype: 'float32', range: [0, 1], preprocessing: 'pixel / 255' }, code: { size: codeSize }, files: ['autoencoder.onnx', 'encoder.onnx', 'decoder.onnx'], opset: 17 };
  writeFileAtomic(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { codeSize };
}

export interface WebBundleOptions {
  dataDir?: string;
  checkpoint?: 'best' | 'last';
  /** Test images in the nearest-neighbour set (default 500). */
  neighbours?: number;
  /** Training images for in-browser training (default 320). */
  trainSamples?: number;
  /** Hidden and code sizes of the in-browser MLP autoencoder (default [64, 16]). */
  mlp?: number[];
  /** Adam learning rate of in-browser training (default 0.005). */
  lr?: number;
  /** Batch size of in-browser training (default 32). */
  batchSize?: number;
}

export interface WebBundleResult {
  dir: string;
  files: string[];
  codeSize: number;
  neighbours: number;
  trainSamples: number;
}

const base64 = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const toBytes = (px: Float32Array) => Uint8Array.from(px, (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
const round = (x: number) => Math.round(x * 1e4) / 1e4;
/** Optimizer scalars are tabulated for this many steps; later steps reuse the last entry. */
const SCALAR_STEPS = 1000;

export async function writeWebBundle(runDir: string, out: string, o: WebBundleOptions = {}): Promise<WebBundleResult> {
  const run = loadRun(runDir, o.checkpoint ?? 'best');
  const shape = run.inputShape;
  if (shape.length !== 3 || (shape[0] !== 1 && shape[0] !== 3)) throw new Error(`the playground draws gray or RGB images; this run's input is [${shape}]`);
  const [c, h, w] = shape as [number, number, number];
  const { codeSize } = exportRunModels(run, out);
  const files = ['autoencoder.onnx', 'encoder.onnx', 'decoder.onnx', 'manifest.json'];

  // Nearest-neighbour set: codes and 8-bit thumbnails (CHW) of the run's first held-out images.
  const test = await loadRunImages(run.config, shape, { split: 'test', limit: o.neighbours ?? 500, dataDir: o.dataDir, classes: 'all' });
  const { codes } = await runAutoencoder(run, test.images, test.n);
  const min = new Array<number>(codeSize).fill(Infinity);
  const max = new Array<number>(codeSize).fill(-Infinity);
  const rows: number[][] = [];
  for (let i = 0; i < test.n; i++) {
    const row = Array.from(codes.subarray(i * codeSize, (i + 1) * codeSize), round);
    row.forEach((v, j) => {
      min[j] = Math.min(min[j]!, v);
      max[j] = Math.max(max[j]!, v);
    });
    rows.push(row);
  }
  const classNames = test.classNames.length ? test.classNames : run.config.dataset?.toString().startsWith('images:') ? ['image'] : FASHION_MNIST_CLASSES;
  const emb = { n: test.n, codeSize, c, h, w, classNames, labels: Array.from(test.labels), codes: rows, min, max, thumbs: base64(toBytes(test.images.subarray(0, test.n * c * h * w))) };
  writeFileAtomic(join(out, 'embeddings.json'), JSON.stringify(emb));
  files.push('embeddings.json');

  // In-browser training: a small MLP autoencoder's training step, as latentkit emits it.
  const train = await loadRunImages(run.config, shape, { split: 'train', limit: o.trainSamples ?? 320, dataDir: o.dataDir });
  const size = c * h * w;
  const sizes = [size, ...(o.mlp ?? [64, 16])];
  const lr = o.lr ?? 0.005;
  const mlp = new MLPAutoencoder(sizes);
  const t = emitTrainingModel(mlp, [{ name: 'x', shape: [size] }], (m, [x]) => ({ loss: mseLoss(m.call(x!), x!) }), { optimizer: new Adam({ lr }) });
  writeFileSync(join(out, 'train-step.onnx'), t.model);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const inputs = t.inputs.map((i) => {
    const init = t.initial.get(i.name);
    if (!init) return i;
    // Optimizer state starts at zero: the page allocates it.
    if (i.role === 'state' && init.data.every((v: number | bigint) => v === 0 || v === 0n)) return { ...i, zeros: true, length: init.data.length };
    const bytes = new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength);
    const entry = { ...i, offset, length: init.data.length };
    chunks.push(bytes);
    offset += bytes.byteLength;
    return entry;
  });
  writeFileSync(join(out, 'train-init.bin'), Buffer.concat(chunks));
  writeFileSync(join(out, 'train-data.bin'), toBytes(train.images.subarray(0, train.n * size)));
  const scalars: Record<string, number[]> = {};
  for (let s = 1; s <= SCALAR_STEPS; s++) for (const [k, v] of Object.entries(t.scalars(s))) (scalars[k] ??= []).push(v);
  const meta = { model: 'train-step.onnx', init: 'train-init.bin', data: 'train-data.bin', n: train.n, c, h, w, sizes, lr, optimizer: 'adam', batchSize: o.batchSize ?? 32, loss: t.loss, feedback: t.feedback, inputs, scalars };
  writeFileAtomic(join(out, 'train.json'), JSON.stringify(meta));
  files.push('train-step.onnx', 'train-init.bin', 'train-data.bin', 'train.json');
  return { dir: out, files, codeSize, neighbours: test.n, trainSamples: train.n };
}
