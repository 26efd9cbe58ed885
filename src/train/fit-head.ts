// One fixed downstream head (logistic/linear regression or a one-layer MLP) trained with minibatch
// Adam for a set number of epochs, then run on other rows: the quick linear probe of embed-eval.
// (`latentkit probe` searches its heads instead: tasks/tabular/head-search.ts.) No checkpoints:
// probes are throwaway models.
import type { Tensor } from '../graph/tensor.js';
import { crossEntropyLoss, mseLoss } from '../losses/index.js';
import { manualSeed } from '../nn/init.js';
import { Dropout, Linear, ReLU, Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { gatherRows } from '../numerics/rows.js';
import { Adam } from '../optim/optimizer.js';
import { ForwardGraph, ParamStore, TrainingStep, type InputSpec, type StepFn } from '../runtime/compile.js';
import { Rng } from '../util/random.js';

export type FixedHeadKind = 'logreg' | 'mlp';

interface LoopOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay?: number;
  seed: number;
}

/** Minibatch Adam over n rows; `batch(idx, rng)` builds the graph inputs for the chosen rows. */
async function trainLoop(model: Module, inputs: InputSpec[], step: StepFn, n: number, batch: (idx: Int32Array, rng: Rng) => (Float32Array | BigInt64Array)[], o: LoopOptions): Promise<ParamStore> {
  const ts = await TrainingStep.create(model, inputs, step, { optimizer: new Adam({ lr: o.lr, weight_decay: o.weightDecay ?? 0 }), seed: o.seed });
  try {
    const rng = new Rng(o.seed + 1);
    for (let e = 0; e < o.epochs; e++) {
      const order = rng.permutation(n);
      for (let s = 0; s < n; s += o.batchSize) {
        const idx = order.subarray(s, Math.min(n, s + o.batchSize));
        if (idx.length < 2 && n > 1) continue;
        await ts.run(batch(idx, rng), idx.length);
      }
    }
    ts.store.sync();
    return ts.store;
  } finally {
    await ts.release();
  }
}

/** Run a forward graph over all rows and return one output. */
async function predict(model: Module, x: Float32Array, width: number, out: (m: Module, x: Tensor) => Tensor): Promise<{ data: Float32Array; size: number }> {
  const n = x.length / width;
  const g = await ForwardGraph.create(model, [{ name: 'x', shape: [width] }], (m, [t]) => { const o = out(m, t!); return { loss: o, outputs: { o } }; }, new ParamStore(model), { withLoss: false });
  try {
    const r = await g.run([x], n);
    return { data: r.outputs.o!, size: r.dims.o![1] ?? 1 };
  } finally {
    await g.release();
  }
}

export interface HeadOptions {
  epochs: number;
  lr: number;
  mlpLr: number;
  batchSize: number;
  weightDecay: number;
  hidden: number;
  dropout: number;
}

/** Train one fixed head on (xtr, ytr) and return its outputs on xte (embed-eval's linear probe; `latentkit probe` searches its heads, see head-search.ts). */
export async function fitPredictHead(kind: FixedHeadKind, task: 'classification' | 'regression', classes: number, xtr: Float32Array, ytr: Int32Array | Float32Array, xte: Float32Array, width: number, o: HeadOptions, seed: number): Promise<Float32Array> {
  manualSeed(seed);
  const out = task === 'classification' ? classes : 1;
  const model = kind === 'logreg' ? new Sequential(new Linear(width, out)) : new Sequential(new Linear(width, o.hidden), new ReLU(), new Dropout(o.dropout), new Linear(o.hidden, out));
  const n = xtr.length / width;
  const cls = task === 'classification';
  const inputs: InputSpec[] = [{ name: 'x', shape: [width] }, cls ? { name: 'y', shape: [], dtype: 'int64' } : { name: 'y', shape: [1] }];
  const step: StepFn = (m, [x, y]) => {
    const z = m.call(x!) as Tensor;
    return { loss: cls ? crossEntropyLoss(z, y!) : mseLoss(z, y!) };
  };
  await trainLoop(model, inputs, step, n, (idx) => {
    const xb = gatherRows(xtr, width, idx);
    const yb = cls ? BigInt64Array.from(idx, (i) => BigInt(ytr[i]!)) : Float32Array.from(idx, (i) => ytr[i]!);
    return [xb, yb];
  }, { epochs: o.epochs, batchSize: o.batchSize, lr: kind === 'logreg' ? o.lr : o.mlpLr, weightDecay: o.weightDecay, seed });
  const { data } = await predict(model, xte, width, (m, x) => (cls ? (m.call(x) as Tensor).softmax(1) : (m.call(x) as Tensor)));
  return data;
}
