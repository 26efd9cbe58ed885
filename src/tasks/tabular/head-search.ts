// The probe's downstream heads, trained as a careful practitioner would: a small grid over
// width / weight decay / learning rate, each candidate with early stopping on an inner
// validation split (best epoch's weights restored), class weights when classes are unbalanced,
// and the same grid, split, batches and budget for every feature set.
//
// All candidates of the grid train together, packed side by side in one graph: one
// session.run per batch trains every candidate on the same rows. The candidates share no
// parameters and the loss is the sum of theirs, so each one's gradient is its own. Each
// candidate's learning rate is a fixed scale on its parameters (W = s·U, U trained by Adam at a
// base rate r): Adam's step on U does not depend on the gradient's scale (bar eps), so W moves
// as if trained at s·r. Weight decay is the L2 term 0.5·wd·‖W‖² on weights (not biases), the
// coupled form of torch's Adam(weight_decay) and scikit-learn's alpha.
import type { Tensor } from '../../graph/tensor.js';
import { complement, kFold, type Task } from '../../data/tabular/index.js';
import { manualSeed } from '../../nn/init.js';
import { Linear } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { Adam } from '../../optim/optimizer.js';
import { ForwardGraph, TrainingStep, type InputSpec } from '../../runtime/compile.js';
import { tensor } from '../../runtime/ort.js';
import { Rng } from '../../util/random.js';
import { gatherRows } from '../../numerics/rows.js';

export type HeadKind = 'logreg' | 'mlp';

export interface HeadConfig {
  kind: HeadKind;
  /** Hidden units (mlp: one ReLU layer; logreg: 0). */
  hidden: number;
  lr: number;
  weightDecay: number;
}

export interface HeadSearchOptions {
  /** Candidates; default headGrid(kinds). */
  grid?: HeadConfig[];
  /** Epochs (default 40): the learning rates follow a cosine decay to 0 over them. */
  maxEpochs?: number;
  /** Stop a candidate after this many epochs without a better validation score (default 10). */
  patience?: number;
  /** Rows per step (default: n/20 clamped to 32..256, so small tables still get ~20 steps an epoch; larger batches would be all overhead savings and no learning). */
  batchSize?: number;
  /** Share of the training rows held out (stratified) for early stopping and the choice (default 0.1). */
  validFraction?: number;
  /** 'auto' (default): balanced class weights when the largest class is over 3x the smallest. */
  classWeights?: 'auto' | 'balanced' | 'none';
  /** Successive halving (default true): after a quarter of the epochs, only the best eighth of each kind's candidates (at least one) trains on. */
  halving?: boolean;
}

export const HEAD_DEFAULTS = { maxEpochs: 40, patience: 10, validFraction: 0.1 };

/** The grid every feature set gets: logreg over (lr, wd), MLP over (width, lr, wd). */
export function headGrid(kinds: HeadKind[]): HeadConfig[] {
  const grid: HeadConfig[] = [];
  for (const kind of kinds)
    for (const hidden of kind === 'logreg' ? [0] : [64, 256])
      for (const lr of kind === 'logreg' ? [1e-2] : [3e-3, 1e-2])
        for (const weightDecay of [1e-4, 1e-3]) grid.push({ kind, hidden, lr, weightDecay });
  return grid;
}

export interface TrialResult {
  config: HeadConfig;
  /** 1-based epoch whose weights were kept. */
  bestEpoch: number;
  /** Validation score at that epoch: accuracy (classification) or −MSE (regression). */
  score: number;
  /** Validation loss at that epoch (mean cross-entropy or MSE). */
  loss: number;
}

export interface HeadSearchResult {
  /** Per head kind: the best candidate's outputs on the test rows (class probabilities or values). */
  predictions: Partial<Record<HeadKind, Float32Array>>;
  chosen: Partial<Record<HeadKind, TrialResult>>;
  trials: TrialResult[];
  epochs: number;
  trainRows: number;
  /** The inner validation rows (indices into the training rows): a function of the labels and the seed only. */
  validIndices: Int32Array;
  batchSize: number;
  classWeights?: number[];
  seconds: number;
}

/**
 * Candidates of one hidden width, stacked on a leading axis G: weights [G, in, out] and biases
 * [G, 1, out] per layer, run as batched MatMuls (a few dozen graph nodes for the whole group;
 * one small Linear per candidate made a ~1,000-node graph whose per-node overhead dominated).
 */
const BASE_LR = 1e-3;

class CandidateGroup extends Module {
  [param: string]: any;
  readonly sizes: number[];
  readonly members: number[];
  constructor(readonly configs: HeadConfig[], members: number[], width: number, out: number, baseLr: number) {
    super();
    this.members = members;
    const hidden = configs[0]!.hidden;
    this.sizes = hidden > 0 ? [width, hidden, out] : [width, out];
    const G = configs.length;
    // PyTorch's Linear init, candidate by candidate (so a candidate starts the same in any grid),
    // stored divided by the candidate's lr scale, as [in, out] so that x·W needs no transpose.
    const layers = this.sizes.slice(1).map((fanOut, l) => ({ fanIn: this.sizes[l]!, fanOut, w: new Float32Array(G * this.sizes[l]! * fanOut), b: new Float32Array(G * fanOut) }));
    configs.forEach((c, g) => {
      const scale = c.lr / baseLr;
      for (const { fanIn, fanOut, w, b } of layers) {
        const lin = new Linear(fanIn, fanOut);
        for (let i = 0; i < fanIn; i++) for (let j = 0; j < fanOut; j++) w[(g * fanIn + i) * fanOut + j] = lin.weight.data[j * fanIn + i]! / scale;
        for (let j = 0; j < fanOut; j++) b[g * fanOut + j] = lin.bias!.data[j]! / scale;
      }
    });
    layers.forEach(({ fanIn, fanOut, w, b }, l) => {
      this[`w${l}`] = new Parameter(w, [G, fanIn, fanOut]);
      this[`b${l}`] = new Parameter(b, [G, 1, fanOut]);
    });
  }
  private scaled(x: Tensor, p: Parameter): Tensor {
    const s = x.constant({ dtype: 'float32', dims: [this.configs.length, 1, 1], data: Float32Array.from(this.configs, (c) => c.lr / BASE_LR) }, 'lr_scale');
    return this.param(x.g, p).mul(s);
  }
  /** Outputs of every member: [G, N, out]. */
  forward(x: Tensor): Tensor {
    let h = x.unsqueeze([0]);
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      if (l) h = h.relu();
      h = h.matmul(this.scaled(x, this[`w${l}`])).add(this.scaled(x, this[`b${l}`]));
    }
    return h;
  }
  /** Σ_g 0.5·wd_g·‖W_g‖² over the weights. */
  penalty(x: Tensor): Tensor {
    const wd = x.constant({ dtype: 'float32', dims: [this.configs.length], data: Float32Array.from(this.configs, (c) => 0.5 * c.weightDecay) }, 'weight_decay');
    let sq: Tensor | undefined;
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const t = this.scaled(x, this[`w${l}`]).square().sum([1, 2]);
      sq = sq ? sq.add(t) : t;
    }
    return sq!.mul(wd).sum();
  }
}

class PackedHeads extends Module {
  [group: string]: any;
  readonly groups: CandidateGroup[];
  constructor(grid: HeadConfig[], width: number, out: number, baseLr: number) {
    super();
    const byWidth = new Map<number, number[]>();
    grid.forEach((c, k) => byWidth.set(c.hidden, [...(byWidth.get(c.hidden) ?? []), k]));
    this.groups = [...byWidth.values()].map((members) => new CandidateGroup(members.map((k) => grid[k]!), members, width, out, baseLr));
    this.groups.forEach((g, i) => (this[`g${i}`] = g));
  }
  forward(x: Tensor): Tensor[] {
    return this.groups.map((g) => g.call(x));
  }
}

/** The inner validation rows: stratified, a function of the labels and the seed only, so every feature set gets the same. */
export function innerValidation(n: number, labels: Int32Array | undefined, seed: number, fraction = 0.1): Int32Array {
  return kFold(n, Math.max(2, Math.round(1 / fraction)), seed, labels)[0]!;
}

/** Rows per step for n training rows: n/20 within 32..256. */
export function defaultHeadBatch(n: number): number {
  return Math.min(256, Math.max(32, Math.round(n / 20)));
}

/** scikit-learn's "balanced" weights n / (C·n_c), capped at 10 so a class of a few rows cannot dominate; undefined when not used. */
export function classWeightsFor(y: Int32Array, classes: number, mode: HeadSearchOptions['classWeights'] = 'auto'): Float32Array | undefined {
  if (mode === 'none') return undefined;
  const count = new Float64Array(classes);
  for (const c of y) count[c]!++;
  const present = Array.from(count).filter((c) => c > 0);
  if (mode === 'auto' && Math.max(...present) <= 3 * Math.min(...present)) return undefined;
  return Float32Array.from(count, (c) => (c > 0 ? Math.min(10, y.length / (present.length * c)) : 0));
}

/** Targets as fed to the loss: row-weighted one-hot rows summing to 1 over the batch (classification) or values. */
function targets(y: Int32Array | Float32Array, idx: ArrayLike<number>, out: number, cls: boolean, weights?: Float32Array): Float32Array {
  if (!cls) return Float32Array.from(idx, (i) => y[i]!);
  const t = new Float32Array(idx.length * out);
  let total = 0;
  for (let k = 0; k < idx.length; k++) total += weights ? weights[y[idx[k]!]!]! : 1;
  for (let k = 0; k < idx.length; k++) {
    const c = y[idx[k]!]!;
    t[k * out + c] = (weights ? weights[c]! : 1) / total;
  }
  return t;
}

/** Mean cross-entropy and accuracy of logits [n, c] (classification), or MSE. */
function validationScore(o: Float32Array, y: Int32Array | Float32Array, out: number, cls: boolean): { score: number; loss: number } {
  const n = y.length;
  if (!cls) {
    let se = 0;
    for (let i = 0; i < n; i++) se += (o[i]! - y[i]!) ** 2;
    return { score: -se / n, loss: se / n };
  }
  let right = 0, ce = 0;
  for (let i = 0; i < n; i++) {
    let best = 0, max = -Infinity;
    for (let c = 0; c < out; c++) if (o[i * out + c]! > max) (max = o[i * out + c]!), (best = c);
    let s = 0;
    for (let c = 0; c < out; c++) s += Math.exp(o[i * out + c]! - max);
    ce += Math.log(s) + max - o[i * out + y[i]!]!;
    if (best === y[i]) right++;
  }
  return { score: right / n, loss: ce / n };
}

function softmaxRows(o: Float32Array, out: number): Float32Array {
  const p = new Float32Array(o.length);
  for (let i = 0; i < o.length; i += out) {
    let max = -Infinity, s = 0;
    for (let c = 0; c < out; c++) max = Math.max(max, o[i + c]!);
    for (let c = 0; c < out; c++) s += (p[i + c] = Math.exp(o[i + c]! - max));
    for (let c = 0; c < out; c++) p[i + c]! /= s;
  }
  return p;
}

/** Per candidate, its slice of every parameter and optimizer state, by name within its group ("w0", "w0.exp_avg"). */
type CandidateState = Map<string, Float32Array>;

/**
 * The training and evaluation graphs of some candidates packed together. Candidate k sits at
 * (group, slot); its parameters, optimizer state and outputs are slices there.
 */
class PackedRun {
  private constructor(
    readonly model: PackedHeads,
    readonly ts: TrainingStep,
    readonly fwd: ForwardGraph,
    readonly optimizer: Adam,
    private readonly where: Map<number, [number, number]>,
    private readonly out: number,
  ) {}

  /** Candidates `members` of the grid; with `carry`, they continue from those states at optimizer step `step`. */
  static async create(grid: HeadConfig[], members: number[], width: number, out: number, cls: boolean, seed: number, carry?: { states: Map<number, CandidateState>; step: number }): Promise<PackedRun> {
    const model = new PackedHeads(members.map((k) => grid[k]!), width, out, BASE_LR);
    const where = new Map<number, [number, number]>();
    model.groups.forEach((g, gi) => g.members.forEach((local, slot) => where.set(members[local]!, [gi, slot])));
    const put = (name: string, size: number, get: (k: number, key: string) => Float32Array): Float32Array => {
      const gi = Number(name.slice(1, name.indexOf('.')));
      const data = new Float32Array(model.groups[gi]!.members.length * size);
      model.groups[gi]!.members.forEach((local, slot) => data.set(get(members[local]!, name.slice(name.indexOf('.') + 1)), slot * size));
      return data;
    };
    if (carry) for (const [name, p] of model.namedParameters()) p.data = put(name, p.size / p.shape[0]!, (k, key) => carry.states.get(k)!.get(key)!);
    const optimizer = new Adam({ lr: BASE_LR });
    const inputs: InputSpec[] = [{ name: 'x', shape: [width] }, { name: 't', shape: [out] }];
    const ts = await TrainingStep.create(model, inputs, (m, [x, t]) => {
      let loss: Tensor | undefined;
      for (const g of (m as PackedHeads).groups) {
        const z = g.call(x!);
        // Classification: t holds each row's weight / batch total on its class: the weighted mean CE.
        const fit = cls ? z.logSoftmax(2).mul(t!).sum().neg() : z.sub(t!).square().mean([1, 2]).sum();
        const l = fit.add(g.penalty(x!));
        loss = loss ? loss.add(l) : l;
      }
      return { loss: loss! };
    }, { optimizer, seed });
    if (carry) {
      for (const [name, p] of ts.store.params)
        for (const st of optimizer.stateNames()) ts.store.values.set(`${name}.${st}`, tensor('float32', put(name, p.size / p.shape[0]!, (k, key) => carry.states.get(k)!.get(`${key}.${st}`)!), p.shape));
      ts.store.step = carry.step;
    }
    const fwd = await ForwardGraph.create(model, [{ name: 'x', shape: [width] }], (m, [x]) => {
      const outs = (m as PackedHeads).forward(x!);
      return { loss: outs[0]!, outputs: Object.fromEntries(outs.map((z, i) => [`g${i}`, z])) };
    }, ts.store, { withLoss: false });
    return new PackedRun(model, ts, fwd, optimizer, where, out);
  }

  get members(): number[] {
    return [...this.where.keys()];
  }

  outputsOf(r: { outputs: Record<string, Float32Array> }, k: number, rows: number): Float32Array {
    const [gi, slot] = this.where.get(k)!;
    return r.outputs[`g${gi}`]!.subarray(slot * rows * this.out, (slot + 1) * rows * this.out);
  }

  /** Candidate k's slices of the parameters (and, with `withOptimizer`, of the optimizer state). */
  state(k: number, withOptimizer = false): CandidateState {
    const [gi, slot] = this.where.get(k)!;
    const prefix = `g${gi}.`;
    const out: CandidateState = new Map();
    for (const [name] of this.ts.store.params) {
      if (!name.startsWith(prefix)) continue;
      for (const key of [name, ...(withOptimizer ? this.optimizer.stateNames().map((st) => `${name}.${st}`) : [])]) {
        const v = this.ts.store.values.get(key)!;
        const size = v.size / v.dims[0]!;
        out.set(key.slice(prefix.length), (v.data as Float32Array).slice(slot * size, (slot + 1) * size));
      }
    }
    return out;
  }

  /** Set the parameters of candidates to the given states (their best epochs). */
  restore(states: Map<number, CandidateState | undefined>): void {
    for (const [name] of this.ts.store.params) {
      const gi = Number(name.slice(1, name.indexOf('.')));
      const v = this.ts.store.values.get(name)!;
      const data = Float32Array.from(v.data as Float32Array);
      const size = data.length / v.dims[0]!;
      for (const [k, st] of states) {
        const [g, slot] = this.where.get(k) ?? [-1, 0];
        if (g === gi && st) data.set(st.get(name.slice(name.indexOf('.') + 1))!, slot * size);
      }
      this.ts.store.values.set(name, tensor('float32', data, v.dims));
    }
  }

  async release(): Promise<void> {
    await this.fwd.release();
    await this.ts.release();
  }
}

/**
 * Train every candidate of the grid on (xtr, ytr) minus an inner validation split, keep each
 * one's best epoch, choose the best candidate of each head kind on the validation split, and
 * return its outputs on xte. Regression targets should be standardised by the caller.
 *
 * Successive halving: after a quarter of the epochs only the best eighth of each kind's
 * candidates (at least one) trains on; the rest keep their best-so-far score. With the default
 * grid (hidden units 4x64 + 4x256) the last three quarters train 256 of the 1,280 hidden units:
 * about 0.4 of the full grid's cost overall.
 */
export async function searchHeads(task: Task, classes: number, xtr: Float32Array, ytr: Int32Array | Float32Array, xte: Float32Array, width: number, o: HeadSearchOptions, seed: number): Promise<HeadSearchResult> {
  const t0 = performance.now();
  const cls = task === 'classification';
  const out = cls ? classes : 1;
  const grid = o.grid ?? headGrid(['logreg', 'mlp']);
  const maxEpochs = o.maxEpochs ?? HEAD_DEFAULTS.maxEpochs, patience = o.patience ?? HEAD_DEFAULTS.patience;
  const halveAt = o.halving === false ? Infinity : Math.max(1, Math.round(maxEpochs / 4));
  const n = xtr.length / width;
  const batchSize = o.batchSize ?? defaultHeadBatch(n);
  const validIdx = innerValidation(n, cls ? (ytr as Int32Array) : undefined, seed, o.validFraction);
  const trainIdx = complement(n, validIdx);
  const weights = cls ? classWeightsFor(Int32Array.from(trainIdx, (i) => ytr[i]!), classes, o.classWeights) : undefined;
  const xv = gatherRows(xtr, width, validIdx);
  const yv = cls ? Int32Array.from(validIdx, (i) => ytr[i]!) : Float32Array.from(validIdx, (i) => ytr[i]!);
  const better = (a: { score: number; loss: number }, b: { score: number; loss: number }) => a.score > b.score || (a.score === b.score && a.loss < b.loss);

  manualSeed(seed);
  let run = await PackedRun.create(grid, grid.map((_, k) => k), width, out, cls, seed);
  const trials: (TrialResult & { best?: CandidateState; since: number })[] = grid.map((config) => ({ config, bestEpoch: 0, score: -Infinity, loss: Infinity, since: 0 }));
  let epochs = 0;
  try {
    const rng = new Rng(seed + 1);
    while (epochs < maxEpochs && run.members.some((k) => trials[k]!.since < patience)) {
      if (epochs === halveAt) {
        const keep: number[] = [];
        for (const kind of new Set(grid.map((c) => c.kind))) {
          const mine = run.members.filter((k) => grid[k]!.kind === kind).sort((a, b) => (better(trials[a]!, trials[b]!) ? -1 : better(trials[b]!, trials[a]!) ? 1 : a - b));
          keep.push(...mine.slice(0, Math.ceil(mine.length / 8)));
        }
        if (keep.length < run.members.length) {
          const states = new Map(keep.map((k) => [k, run.state(k, true)]));
          const step = run.ts.store.step;
          await run.release();
          run = await PackedRun.create(grid, keep.sort((a, b) => a - b), width, out, cls, seed, { states, step });
        }
      }
      // Cosine decay of every candidate's rate: as good as ~4x more epochs at a constant rate.
      run.optimizer.lr = BASE_LR * 0.5 * (1 + Math.cos((Math.PI * epochs) / maxEpochs));
      epochs++;
      const order = rng.permutation(trainIdx.length);
      for (let s = 0; s < order.length; s += batchSize) {
        const idx = Int32Array.from(order.subarray(s, Math.min(order.length, s + batchSize)), (k) => trainIdx[k]!);
        if (idx.length < 2 && order.length > 1) continue;
        await run.ts.run([gatherRows(xtr, width, idx), targets(ytr, idx, out, cls, weights)], idx.length);
      }
      const r = await run.fwd.run([xv], validIdx.length);
      for (const k of run.members) {
        const t = trials[k]!;
        const v = validationScore(run.outputsOf(r, k, validIdx.length), yv, out, cls);
        if (better(v, t)) Object.assign(t, { ...v, bestEpoch: epochs, since: 0, best: run.state(k) });
        else t.since++;
      }
    }
    // Every candidate still training back to its best epoch; the best of each kind is chosen among them.
    run.restore(new Map(run.members.map((k) => [k, trials[k]!.best])));
    const pick: Partial<Record<HeadKind, number>> = {};
    for (const k of run.members) {
      const c = pick[grid[k]!.kind];
      if (c === undefined || better(trials[k]!, trials[c]!)) pick[grid[k]!.kind] = k;
    }
    const nte = xte.length / width;
    const r = await run.fwd.run([xte], nte);
    const predictions: Partial<Record<HeadKind, Float32Array>> = {};
    for (const [kind, k] of Object.entries(pick) as [HeadKind, number][]) {
      const z = run.outputsOf(r, k, nte);
      predictions[kind] = cls ? softmaxRows(z, out) : Float32Array.from(z);
    }
    const clean = (t: (typeof trials)[number]): TrialResult => ({ config: t.config, bestEpoch: t.bestEpoch, score: t.score, loss: t.loss });
    return {
      predictions,
      chosen: Object.fromEntries(Object.entries(pick).map(([kind, k]) => [kind, clean(trials[k]!)])),
      trials: trials.map(clean),
      epochs,
      trainRows: trainIdx.length,
      validIndices: validIdx,
      batchSize,
      classWeights: weights ? Array.from(weights) : undefined,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await run.release();
  }
}
