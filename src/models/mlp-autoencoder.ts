// MLP autoencoders (the LSTM one lives in sequence.ts), used by the benchmarks, the tabular
// tools and as building blocks.
import type { Tensor } from '../graph/tensor.js';
import { BatchNorm1d, Dropout, Flatten, GELU, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Softplus, Tanh, Unflatten } from '../nn/index.js';
import type { Module } from '../nn/module.js';
import { Autoencoder } from './conv-autoencoder.js';

export type Activation = 'relu' | 'leaky_relu' | 'tanh' | 'gelu' | 'sigmoid' | 'softplus';
export const ACTIVATIONS: Activation[] = ['relu', 'leaky_relu', 'tanh', 'gelu', 'sigmoid', 'softplus'];
export type OutputActivation = 'sigmoid' | 'linear' | 'tanh';

export interface MLPAutoencoderOptions {
  /** Hidden-layer activation (default 'relu'). */
  activation?: Activation;
  /** Dropout after every hidden activation (default 0: none). */
  dropout?: number;
  /** BatchNorm1d between every hidden Linear and its activation (default false). */
  batchNorm?: boolean;
  /** Give the code layer the activation (and batch norm, dropout) too; default false: a linear code. */
  codeActivation?: boolean;
  /** Output layer: 'sigmoid' (default, inputs in [0, 1]), 'linear' (standardised or tabular data), 'tanh'. */
  output?: OutputActivation;
  /** Per-sample input shape to flatten at the input and restore at the output, e.g. [1, 28, 28]. */
  inputShape?: number[];
}

/** The JSON form: {"input": 30, "hidden": [64, 32], "bottleneck": 8, "activation": "relu", ...}. */
export interface MLPAutoencoderConfig extends MLPAutoencoderOptions {
  input: number;
  hidden?: number[];
  bottleneck: number;
}

function activation(kind: Activation): Module {
  switch (kind) {
    case 'relu': return new ReLU();
    case 'leaky_relu': return new LeakyReLU(0.01);
    case 'tanh': return new Tanh();
    case 'gelu': return new GELU();
    case 'sigmoid': return new Sigmoid();
    case 'softplus': return new Softplus();
    default: throw new Error(`unknown activation ${JSON.stringify(kind)}; use one of ${ACTIVATIONS.join(', ')}`);
  }
}

/**
 * Fully connected autoencoder: sizes [in, h1, ..., code]; the decoder mirrors them. The
 * defaults give the original layer list exactly (Linear/ReLU, a linear code, Sigmoid output),
 * so `new MLPAutoencoder([784, 512, 256, 32])` keeps its layers and parameter names
 * (encoder.0.weight, ...). Each hidden block is Linear [-> BatchNorm1d] -> activation [-> Dropout].
 */
export class MLPAutoencoder extends Autoencoder {
  encoder: Sequential;
  decoder: Sequential;
  readonly options: Required<Omit<MLPAutoencoderOptions, 'inputShape'>> & { inputShape?: number[] };
  /** Last module of each hidden block: encoder blocks (the code last), then decoder blocks. */
  private readonly blockEnds: { part: 'encoder' | 'decoder'; index: number; size: number }[] = [];

  constructor(readonly sizes: number[], opts: MLPAutoencoderOptions = {}) {
    super();
    if (sizes.length < 2) throw new Error('MLPAutoencoder needs at least [input, code] sizes');
    if (sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`MLPAutoencoder: layer sizes must be positive integers, got [${sizes}]`);
    const o = (this.options = {
      activation: opts.activation ?? 'relu',
      dropout: opts.dropout ?? 0,
      batchNorm: opts.batchNorm ?? false,
      codeActivation: opts.codeActivation ?? false,
      output: opts.output ?? 'sigmoid',
      ...(opts.inputShape ? { inputShape: opts.inputShape } : {}),
    });
    activation(o.activation); // validate before building anything
    if (!(o.dropout >= 0 && o.dropout < 1)) throw new Error(`MLPAutoencoder: dropout must be in [0, 1), got ${o.dropout}`);
    if (!['sigmoid', 'linear', 'tanh'].includes(o.output)) throw new Error(`MLPAutoencoder: output must be sigmoid, linear or tanh, got ${JSON.stringify(o.output)}`);
    const flat = o.inputShape?.reduce((a, b) => a * b, 1);
    if (o.inputShape && flat !== sizes[0]) throw new Error(`MLPAutoencoder: inputShape [${o.inputShape}] has ${flat} values, sizes[0] is ${sizes[0]}`);
    const block = (mods: Module[], width: number) => {
      if (o.batchNorm) mods.push(new BatchNorm1d(width));
      mods.push(activation(o.activation));
      if (o.dropout > 0) mods.push(new Dropout(o.dropout));
    };
    const enc: Module[] = o.inputShape ? [new Flatten()] : [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      enc.push(new Linear(sizes[i]!, sizes[i + 1]!));
      if (i + 2 < sizes.length || o.codeActivation) block(enc, sizes[i + 1]!);
      this.blockEnds.push({ part: 'encoder', index: enc.length - 1, size: sizes[i + 1]! });
    }
    const rev = [...sizes].reverse();
    const dec: Module[] = [];
    for (let i = 0; i + 1 < rev.length; i++) {
      dec.push(new Linear(rev[i]!, rev[i + 1]!));
      if (i + 2 < rev.length) {
        block(dec, rev[i + 1]!);
        this.blockEnds.push({ part: 'decoder', index: dec.length - 1, size: rev[i + 1]! });
      } else if (o.output === 'sigmoid') dec.push(new Sigmoid());
      else if (o.output === 'tanh') dec.push(new Tanh());
    }
    if (o.inputShape) dec.push(new Unflatten(1, o.inputShape));
    this.encoder = new Sequential(...enc);
    this.decoder = new Sequential(...dec);
  }

  /** Build from the JSON form, checking every key. */
  static fromConfig(cfg: MLPAutoencoderConfig, where = 'MLPAutoencoder config'): MLPAutoencoder {
    const c = cfg as unknown as Record<string, unknown>;
    const known = ['input', 'hidden', 'bottleneck', 'activation', 'dropout', 'batchNorm', 'codeActivation', 'output', 'inputShape'];
    for (const k of Object.keys(c)) if (c[k] !== undefined && !known.includes(k)) throw new Error(`${where}: unknown key "${k}"; allowed: ${known.join(', ')}`);
    const int = (v: unknown, k: string) => {
      if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`${where}: "${k}" must be a positive integer, got ${JSON.stringify(v)}`);
      return v as number;
    };
    const hidden = c.hidden ?? [];
    if (!Array.isArray(hidden)) throw new Error(`${where}: "hidden" must be a list of layer sizes, got ${JSON.stringify(hidden)}`);
    if (c.activation !== undefined && !ACTIVATIONS.includes(c.activation as Activation)) throw new Error(`${where}: "activation" must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(c.activation)}`);
    if (c.dropout !== undefined && !(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1)) throw new Error(`${where}: "dropout" must be a number in [0, 1), got ${JSON.stringify(c.dropout)}`);
    for (const k of ['batchNorm', 'codeActivation']) if (c[k] !== undefined && typeof c[k] !== 'boolean') throw new Error(`${where}: "${k}" must be true or false, got ${JSON.stringify(c[k])}`);
    if (c.output !== undefined && !['sigmoid', 'linear', 'tanh'].includes(c.output as string)) throw new Error(`${where}: "output" must be sigmoid, linear or tanh, got ${JSON.stringify(c.output)}`);
    const sizes = [int(c.input, 'input'), ...hidden.map((h, i) => int(h, `hidden[${i}]`)), int(c.bottleneck, 'bottleneck')];
    return new MLPAutoencoder(sizes, { activation: cfg.activation, dropout: cfg.dropout, batchNorm: cfg.batchNorm, codeActivation: cfg.codeActivation, output: cfg.output, inputShape: cfg.inputShape });
  }

  codeShape() {
    return [this.sizes[this.sizes.length - 1]!];
  }

  /** Widths of what hiddenLayers() returns: encoder layers, the code, decoder layers. */
  hiddenSizes(): number[] {
    return this.blockEnds.map((b) => b.size);
  }

  /** Every hidden representation of x in order: encoder blocks, the code, decoder blocks. */
  hiddenLayers(x: Tensor): Tensor[] {
    const out: Tensor[] = [];
    let h = x;
    for (const part of ['encoder', 'decoder'] as const) {
      const seq = this[part];
      const ends = new Set(this.blockEnds.filter((b) => b.part === part).map((b) => b.index));
      for (let i = 0; i < seq.length; i++) {
        h = seq.at(i).call(h);
        if (ends.has(i)) out.push(h);
      }
    }
    return out;
  }
}

// The LSTM sequence autoencoder lives in sequence.ts (reversed, conditional and composite decoders).
export { LSTMAutoencoder } from './sequence.js';
