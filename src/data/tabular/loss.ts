// The mixed-type reconstruction loss, built from the Tensor API (autodiff differentiates it):
// the network's output holds raw scores in the preprocessor's layout, and each source column
// contributes one term per sample:
//   numeric            squared error
//   binary, missing    binary cross-entropy on logits
//   categorical group  softmax cross-entropy over the group (one-hot target)
// The loss is the mean over samples of the mean over those terms, so it does not grow with
// the number of columns; per-kind means are reported as metrics.
import type { Tensor } from '../../graph/tensor.js';
import type { BlockKind, TabularLayout } from './preprocess.js';

export interface TabularLossOptions {
  /** Multiply each kind's terms (default 1 each). */
  weights?: Partial<Record<BlockKind, number>>;
}

export interface TabularLoss {
  loss: Tensor;
  metrics: Record<string, Tensor>;
}

function cols(x: Tensor, start: number, count: number): Tensor {
  return x.slice([start], [start + count], [1]);
}

/** Elementwise BCE on logits: max(x,0) - x·t + log(1 + e^{-|x|}). */
function bceLogits(x: Tensor, t: Tensor): Tensor {
  return x.relu().sub(x.mul(t)).add(x.abs().neg().softplus());
}

export function tabularReconstructionLoss(output: Tensor, target: Tensor, layout: TabularLayout, opts: TabularLossOptions = {}): TabularLoss {
  if (output.rank !== 2 || output.dim(1) !== layout.width || target.dim(1) !== layout.width)
    throw new Error(`tabular loss: expected output and target [N, ${layout.width}], got [${output.shape}] and [${target.shape}]`);
  const w = (k: BlockKind) => opts.weights?.[k] ?? 1;
  const perSample: Tensor[] = [];
  const metrics: Record<string, Tensor> = {};
  let terms = 0;
  const [ns, nc] = layout.numeric;
  if (nc) {
    const se = cols(output, ns, nc).sub(cols(target, ns, nc)).square();
    metrics.numeric_mse = se.mean();
    perSample.push(se.sum([1]).mul(w('numeric')));
    terms += nc;
  }
  for (const kind of ['binary', 'missing'] as const) {
    const [s, c] = layout[kind];
    if (!c) continue;
    const bce = bceLogits(cols(output, s, c), cols(target, s, c));
    metrics[`${kind}_bce`] = bce.mean();
    perSample.push(bce.sum([1]).mul(w(kind)));
    terms += c;
  }
  if (layout.categorical.length) {
    const ces = layout.categorical.map((g) => cols(output, g.offset, g.size).logSoftmax(1).mul(cols(target, g.offset, g.size)).sum([1]).neg());
    const ce = ces.reduce((a, b) => a.add(b));
    metrics.categorical_ce = ce.mean().div(layout.categorical.length);
    perSample.push(ce.mul(w('categorical')));
    terms += layout.categorical.length;
  }
  const total = perSample.reduce((a, b) => a.add(b));
  return { loss: total.mean().div(terms), metrics };
}

/** Host side: raw scores -> reconstructed values (sigmoid for 0/1 columns, softmax per group). */
export function decodeTabularOutput(scores: Float32Array, n: number, layout: TabularLayout): Float32Array {
  const W = layout.width;
  const out = Float32Array.from(scores);
  for (let i = 0; i < n; i++) {
    const row = i * W;
    for (const kind of ['binary', 'missing'] as const) {
      const [s, c] = layout[kind];
      for (let j = s; j < s + c; j++) out[row + j] = 1 / (1 + Math.exp(-scores[row + j]!));
    }
    for (const g of layout.categorical) {
      let m = -Infinity;
      for (let j = 0; j < g.size; j++) m = Math.max(m, scores[row + g.offset + j]!);
      let z = 0;
      for (let j = 0; j < g.size; j++) z += Math.exp(scores[row + g.offset + j]! - m);
      for (let j = 0; j < g.size; j++) out[row + g.offset + j] = Math.exp(scores[row + g.offset + j]! - m) / z;
    }
  }
  return out;
}
