// LSTM sequence autoencoders (Srivastava, Mansimov & Salakhutdinov 2015; the chapter's
// Figure 5.2). The encoder LSTM reads the sequence; its final hidden and cell states (every
// layer) are the code. A reconstruction decoder, started from that state, emits the input in
// reverse order; an optional future predictor, started from the same state, emits the frames
// that follow (the "composite" model). Each decoder is either unconditioned (fed zeros) or
// conditional (fed its previous output; during training the ground-truth previous frame,
// i.e. teacher forcing, as in the paper).
import { formatShape } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { bceLoss, mseLoss } from '../losses/index.js';
import { Linear, LSTM } from '../nn/index.js';
import type { LSTMState } from '../nn/lstm.js';
import type { StepFn, StepOutput } from '../runtime/compile.js';
import { Autoencoder } from './conv-autoencoder.js';
import { registerPreset, type ModelConfig, type TrainDefaults } from './presets.js';

export type SeqLoss = 'mse' | 'bce';

export interface SeqAEOptions {
  /** LSTM layers in the encoder and each decoder (default 1). */
  layers?: number;
  /** Conditional decoders (fed their previous output) instead of unconditioned ones (fed zeros). */
  conditional?: boolean;
  /** Future frames the predictor emits; 0 (default) = no predictor. */
  future?: number;
  /** Weight of the future loss in the composite objective (default 1). */
  futureWeight?: number;
  /** Per-frame loss: 'mse' (default) or 'bce' (frames in [0, 1]). */
  loss?: SeqLoss;
  /** Output activation of the frame heads: default 'sigmoid' with BCE, 'linear' with MSE. */
  output?: 'sigmoid' | 'linear';
  /**
   * Per-sample input shape when it is not [steps, features], e.g. [1, 28, 28] for images read
   * row by row; inputs are reshaped to [N, steps, features] and reconstructions back to it.
   */
  sampleShape?: number[];
}

/**
 * Input [N, T, F] (batch first; or [N, ...sampleShape]). `forward(x)` returns the
 * reconstruction in the decoder's order (the input reversed), so
 * `mseLoss(m.call(x), LSTMAutoencoder.reversed(x))` trains it; `decode(encode(x))` and
 * `reconstruct(x)` return it in the original order and shape.
 */
export class LSTMAutoencoder extends Autoencoder {
  encoder: LSTM;
  decoder: LSTM;
  head: Linear;
  predictor?: LSTM;
  predictorHead?: Linear;
  readonly layers: number;
  readonly conditional: boolean;
  readonly future: number;
  readonly futureWeight: number;
  readonly loss: SeqLoss;
  readonly output: 'sigmoid' | 'linear';
  readonly sampleShape: number[];

  constructor(readonly features: number, readonly hidden: number, readonly steps: number, opts: number | SeqAEOptions = {}) {
    super();
    const o: SeqAEOptions = typeof opts === 'number' ? { layers: opts } : opts;
    for (const [k, v] of Object.entries({ features, hidden, steps, layers: o.layers ?? 1 }))
      if (!Number.isInteger(v) || v < 1) throw new Error(`LSTMAutoencoder: ${k} must be a positive integer, got ${v}`);
    this.layers = o.layers ?? 1;
    this.conditional = o.conditional ?? false;
    this.future = o.future ?? 0;
    this.futureWeight = o.futureWeight ?? 1;
    this.loss = o.loss ?? 'mse';
    this.output = o.output ?? (this.loss === 'bce' ? 'sigmoid' : 'linear');
    this.sampleShape = o.sampleShape ?? [steps, features];
    if (this.sampleShape.reduce((a, b) => a * b, 1) !== steps * features)
      throw new Error(`LSTMAutoencoder: sampleShape [${this.sampleShape}] does not hold ${steps} steps x ${features} features`);
    this.encoder = new LSTM(features, hidden, this.layers, true, true);
    this.decoder = new LSTM(features, hidden, this.layers, true, true);
    this.head = new Linear(hidden, features);
    if (this.future > 0) {
      this.predictor = new LSTM(features, hidden, this.layers, true, true);
      this.predictorHead = new Linear(hidden, features);
    }
  }

  codeShape() {
    return [2 * this.layers * this.hidden];
  }

  /** The input as [N, steps, features], with a clear error when a sample has the wrong shape. */
  toSeq(x: Tensor): Tensor {
    const per = x.shape.slice(1);
    const want = this.sampleShape;
    const same = per.length === want.length && per.every((d, i) => d === want[i]);
    const isSeq = per.length === 2 && per[0] === this.steps && per[1] === this.features;
    if (!same && !isSeq) {
      const got = per.length === 2 ? `${per[0]} steps x ${per[1]} features` : `samples ${formatShape(per)}`;
      throw new Error(`this LSTMAutoencoder was built for sequences of ${this.steps} steps x ${this.features} features${want.length !== 2 ? ` (samples [${want}])` : ''}; got ${got}`);
    }
    return isSeq ? x : x.reshape([x.shape[0]!, this.steps, this.features]);
  }

  /** Encoder final (h, c), each [layers, N, hidden]. */
  encodeState(x: Tensor): LSTMState {
    const [, state] = this.encoder.call(this.toSeq(x));
    return state;
  }

  /** The code: final hidden and cell states of every layer, concatenated per sample ([N, 2·L·H]). */
  encode(x: Tensor): Tensor {
    const [h, c] = this.encodeState(x);
    return Tensor.concat([h, c], 0).transpose([1, 0, 2]).flatten(1);
  }

  /** Inverse of encode's flattening: the (h, c) state from a code [N, 2·L·H]. */
  stateOf(code: Tensor): LSTMState {
    const L = this.layers, H = this.hidden;
    const hc = code.reshape([code.shape[0]!, 2 * L, H]).transpose([1, 0, 2]);
    return hc.split([L, L], 0) as [Tensor, Tensor];
  }

  private act(t: Tensor): Tensor {
    return this.output === 'sigmoid' ? t.sigmoid() : t;
  }

  /**
   * Run a decoder for `steps` frames from `state`. Unconditioned: zeros in. Conditional: `first`
   * is the first input; with `teacher` ([N, steps, F], the targets) the inputs are the
   * ground-truth previous frames (one parallel pass), else the decoder's own previous outputs.
   */
  private runDecoder(lstm: LSTM, head: Linear, state: LSTMState, steps: number, first: Tensor | undefined, teacher?: Tensor): Tensor {
    if (!this.conditional) {
      const [out] = lstm.call(null, state, steps);
      return this.act(head.call(out));
    }
    const f = first!;
    if (teacher) {
      const prev = steps === 1 ? f : Tensor.concat([f, teacher.slice([0], [steps - 1], [1])], 1);
      const [out] = lstm.call(prev, state);
      return this.act(head.call(out));
    }
    const outs: Tensor[] = [];
    let inp = f;
    let st = state;
    for (let t = 0; t < steps; t++) {
      const [o, s] = lstm.call(inp, st) as [Tensor, LSTMState];
      const y = this.act(head.call(o));
      outs.push(y);
      inp = y;
      st = s;
    }
    return steps === 1 ? outs[0]! : Tensor.concat(outs, 1);
  }

  /**
   * Reconstruction in the decoder's order (input reversed), [N, steps, F]. `teacher`: the
   * reversed input, fed as the previous frame (conditional decoders in training).
   */
  reconstructReversed(state: LSTMState, like: Tensor, teacher?: Tensor): Tensor {
    const first = this.conditional ? like.slice([0], [1], [1]).zerosLike() : undefined;
    return this.runDecoder(this.decoder, this.head, state, this.steps, first, teacher);
  }

  /**
   * Future frames [N, future, F] from the code state; a conditional predictor starts from the
   * last input frame of `x` ([N, steps, F]). `teacher`: the true future (teacher forcing).
   */
  predictFuture(state: LSTMState, x: Tensor, teacher?: Tensor): Tensor {
    if (!this.predictor || !this.predictorHead) throw new Error('this LSTMAutoencoder has no future predictor (build it with { future: K })');
    const first = this.conditional ? x.slice([this.steps - 1], [this.steps], [1]) : undefined;
    return this.runDecoder(this.predictor, this.predictorHead, state, this.future, first, teacher);
  }

  /** Reconstruction in the decoder's order (the input reversed), [N, steps, features]. */
  forward(x: Tensor): Tensor {
    const seq = this.toSeq(x);
    const teacher = this.training && this.conditional ? LSTMAutoencoder.reversed(seq) : undefined;
    return this.reconstructReversed(this.encodeState(seq), seq, teacher);
  }

  /** Reconstruction in the original order and sample shape, from a code (free-running). */
  decode(code: Tensor): Tensor {
    const state = this.stateOf(code);
    // A [N, 1, F] zero frame shaped like the batch (only its shape is used).
    const F = this.features;
    const like = code.slice([0], [1], [1]).mul(0).unsqueeze([2]).add(code.constant({ dtype: 'float32', dims: [1, 1, F], data: new Float32Array(F) }));
    const rev = this.reconstructReversed(state, like);
    return LSTMAutoencoder.reversed(rev).reshape([code.shape[0]!, ...this.sampleShape]);
  }

  /** Input → reconstruction in the original order and shape (free-running decoders). */
  reconstruct(x: Tensor): Tensor {
    const seq = this.toSeq(x);
    const rev = this.reconstructReversed(this.encodeState(seq), seq);
    return LSTMAutoencoder.reversed(rev).reshape([x.shape[0]!, ...this.sampleShape]);
  }

  /** Reconstruction target: the input reversed in time (axis 1). */
  static reversed(x: Tensor): Tensor {
    const T = x.shape[1] as number;
    if (T === 1) return x;
    // Split + Concat (differentiable for a symbolic batch, unlike Gather on axis 1).
    return Tensor.concat(x.split(new Array(T).fill(1), 1).reverse(), 1);
  }
}

export interface SequenceStepOptions {
  /** Force teacher forcing on or off; default: on in training for conditional decoders. */
  teacherForcing?: boolean;
}

/**
 * The training objective: per-frame loss (MSE or BCE, mean over frames and features) of the
 * reversed reconstruction, plus futureWeight × the future loss for a composite model.
 * Graph inputs: x [N, ...sampleShape] and, with a predictor, future [N, future, features].
 * Metrics: recon_mse (and future_mse); outputs: recon (original order), future, score
 * (per-sample reconstruction MSE, the anomaly score).
 */
export function sequenceStep(opts: SequenceStepOptions = {}): StepFn {
  return (m, [x, future]) => {
    const ae = m as LSTMAutoencoder;
    const lossFn = ae.loss === 'bce' ? bceLoss : mseLoss;
    const seq = ae.toSeq(x!);
    const tf = (opts.teacherForcing ?? ae.training) && ae.conditional;
    const state = ae.encodeState(seq);
    const target = LSTMAutoencoder.reversed(seq);
    const rev = ae.reconstructReversed(state, seq, tf ? target : undefined);
    const sq = rev.sub(target).square();
    const metrics: Record<string, Tensor> = { recon_mse: sq.mean() };
    let loss = ae.loss === 'mse' ? metrics.recon_mse! : lossFn(rev, target);
    const outputs: StepOutput['outputs'] = { recon: LSTMAutoencoder.reversed(rev), score: sq.mean([1, 2]) };
    if (ae.future > 0) {
      if (!future) throw new Error('a composite LSTMAutoencoder needs a second input: the future frames');
      if (future.shape[1] !== ae.future || future.shape[2] !== ae.features)
        throw new Error(`future frames: expected ${ae.future} steps x ${ae.features} features, got ${formatShape(future.shape)}`);
      const pred = ae.predictFuture(state, seq, tf ? future : undefined);
      metrics.future_mse = pred.sub(future).square().mean();
      const fl = ae.loss === 'mse' ? metrics.future_mse : lossFn(pred, future);
      loss = loss.add(fl.mul(ae.futureWeight));
      outputs.future = pred;
    }
    return { loss, metrics, outputs };
  };
}

// ---------------- presets ----------------

const bool = (v: unknown, dflt: boolean) => (v === undefined ? dflt : v === true || v === 'true' || v === 1);

/** Build options shared by the three presets from a ModelConfig. */
function common(cfg: ModelConfig, dflt: { hidden: number; conditional: boolean }) {
  return {
    hidden: (cfg.hidden as number | undefined) ?? cfg.bottleneck ?? dflt.hidden,
    layers: (cfg.layers as number | undefined) ?? 1,
    conditional: bool(cfg.conditional, dflt.conditional),
  };
}

const stepFor = (_hp: TrainDefaults, _cfg: ModelConfig) => sequenceStep();
const SEQ_OPTIONS = ['hidden', 'bottleneck', 'layers', 'conditional'];

/** Frame side of a Moving Fashion-MNIST config (default 32). */
export function movingFrameSize(cfg: ModelConfig): number {
  return (cfg.frameSize as number | undefined) ?? 32;
}

registerPreset('lstm-rows', {
  description: 'LSTM autoencoder reading Fashion-MNIST images row by row (28 steps of 28 pixels); code = final (h, c)',
  inputShape: [1, 28, 28],
  defaults: { lr: 2e-3, batchSize: 64, epochs: 5, loss: 'bce', optimizer: 'adam' },
  options: SEQ_OPTIONS,
  build: (cfg) => {
    const c = common(cfg, { hidden: 128, conditional: false });
    return new LSTMAutoencoder(28, c.hidden, 28, { layers: c.layers, conditional: c.conditional, loss: 'bce', sampleShape: [1, 28, 28] });
  },
  step: stepFor,
});

registerPreset('lstm-composite-moving', {
  trainCommand: 'train-seq',
  description: 'composite LSTM autoencoder on Moving Fashion-MNIST: 10 frames in, reversed reconstruction + 10 future frames (train with `latentkit train-seq`)',
  inputShape: [10, 32 * 32],
  defaults: { lr: 1e-3, batchSize: 32, epochs: 10, loss: 'bce', optimizer: 'adam' },
  options: [...SEQ_OPTIONS, 'frameSize', 'steps', 'future', 'futureWeight'],
  build: (cfg) => {
    const c = common(cfg, { hidden: 256, conditional: true });
    const s = movingFrameSize(cfg);
    return new LSTMAutoencoder(s * s, c.hidden, (cfg.steps as number | undefined) ?? 10, {
      layers: c.layers, conditional: c.conditional, loss: 'bce',
      future: (cfg.future as number | undefined) ?? 10, futureWeight: (cfg.futureWeight as number | undefined) ?? 1,
    });
  },
  inputs: (cfg) => {
    const s = movingFrameSize(cfg);
    return [{ name: 'x', shape: [(cfg.steps as number | undefined) ?? 10, s * s] }, { name: 'future', shape: [(cfg.future as number | undefined) ?? 10, s * s] }];
  },
  step: stepFor,
});

registerPreset('lstm-timeseries', {
  trainCommand: 'train-seq --csv FILE',
  description: 'LSTM autoencoder on sliding windows of a CSV time series (normalised features); anomaly score = window reconstruction MSE (train with `latentkit train-seq --csv`)',
  inputShape: [32, 1],
  defaults: { lr: 3e-3, batchSize: 32, epochs: 30, loss: 'mse', optimizer: 'adam' },
  options: [...SEQ_OPTIONS, 'window', 'features'],
  build: (cfg) => {
    const c = common(cfg, { hidden: 32, conditional: false });
    return new LSTMAutoencoder((cfg.features as number | undefined) ?? 1, c.hidden, (cfg.window as number | undefined) ?? 32, { layers: c.layers, conditional: c.conditional, loss: 'mse' });
  },
  inputs: (cfg) => [{ name: 'x', shape: [(cfg.window as number | undefined) ?? 32, (cfg.features as number | undefined) ?? 1] }],
  step: stepFor,
});
