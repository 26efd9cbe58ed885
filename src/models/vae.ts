// Variational autoencoders (Kingma & Welling 2014), MLP and convolutional, with the usual
// objective: reconstruction (BCE or squared error, summed per sample) + β·KL(q(z|x) || N(0, I)),
// averaged over the batch, and an optional linear KL warm-up fed to the graph as β per sample.
//
// Parameter names follow the PyTorch module a pythae/PyTorch user writes:
//   encoder.* (hidden layers), mu.*, logvar.* (the two heads), decoder.* (ends in Sigmoid).
import type { Batch } from '../data/loader.js';
import type { Tensor } from '../graph/tensor.js';
import { bceLoss, bceWithLogitsLoss, gaussianKl, mseLoss } from '../losses/index.js';
import { Conv2d, ConvTranspose2d, Flatten, Linear, ReLU, Sequential, Sigmoid, Unflatten } from '../nn/index.js';
import type { Module } from '../nn/module.js';
import type { InputSpec, StepFn } from '../runtime/compile.js';
import type { FeedInfo } from '../train/trainer.js';
import { Autoencoder } from './conv-autoencoder.js';
import { registerPreset, type ModelConfig, type Preset } from './presets.js';

export type VaeConfig =
  | {
      kind: 'mlp';
      /** Per-sample input shape, e.g. [1, 28, 28] or [20]; flattened for the first Linear. */
      inputShape: number[];
      /** Hidden layer sizes of the encoder; the decoder mirrors them (default [512, 256]). */
      hidden?: number[];
      latent: number;
    }
  | {
      kind: 'conv';
      /** 1x28x28 images: strided 3x3 convs to 7x7, as DeepConvAutoencoder. */
      inputShape?: [1, 28, 28];
      latent: number;
      /** Channels of the first conv; the second has twice as many (default 32). */
      width?: number;
    };

/** What one pass through a VAE produces (all [N, ...]). */
export interface VaeForward {
  /** Pixel means in [0, 1]. */
  recon: Tensor;
  /** Pixel logits (recon = sigmoid(logits)); when given, BCE is computed from them. */
  logits?: Tensor;
  mu: Tensor;
  logvar: Tensor;
  z: Tensor;
}

const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * A VAE: `encoder` (hidden layers) then two linear heads `mu` and `logvar`; z = mu +
 * exp(0.5·logvar)·eps; `decoder` maps z to the image (Sigmoid output, so pixel means in [0, 1]).
 * `encode` returns mu (the code used for embeddings and reconstructions); `forward` samples z in
 * training mode and decodes mu in eval mode, so exported models are deterministic.
 */
export class VariationalAutoencoder extends Autoencoder {
  encoder: Sequential;
  mu: Linear;
  logvar: Linear;
  decoder: Sequential;
  readonly inputShape: number[];
  readonly latent: number;

  constructor(readonly config: VaeConfig) {
    super();
    const latent = config.latent;
    if (!Number.isInteger(latent) || latent < 1) throw new Error(`VAE latent size must be a positive integer, got ${latent}`);
    this.latent = latent;
    if (config.kind === 'mlp') {
      this.inputShape = [...config.inputShape];
      const inF = prod(this.inputShape);
      const hidden = config.hidden ?? [512, 256];
      if (!hidden.length || hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new Error(`VAE hidden sizes must be positive integers, got [${hidden}]`);
      const enc: Module[] = [];
      [inF, ...hidden].slice(0, -1).forEach((f, i) => enc.push(new Linear(f, hidden[i]!), new ReLU()));
      const last = hidden[hidden.length - 1]!;
      this.encoder = new Sequential(...enc);
      this.mu = new Linear(last, latent);
      this.logvar = new Linear(last, latent);
      const rev = [...hidden].reverse();
      const dec: Module[] = [];
      [latent, ...rev].forEach((f, i) => {
        const to = i < rev.length ? rev[i]! : inF;
        dec.push(new Linear(f, to), i < rev.length ? new ReLU() : new Sigmoid());
      });
      this.decoder = new Sequential(...dec);
    } else {
      this.inputShape = [1, 28, 28];
      if (config.inputShape && config.inputShape.join(',') !== '1,28,28') throw new Error(`the convolutional VAE takes 1x28x28 images, not [${config.inputShape}]`);
      const w = config.width ?? 32;
      const flat = 2 * w * 49;
      this.encoder = new Sequential(
        new Conv2d(1, w, 3, { stride: 2, padding: 1 }), new ReLU(), // 14x14
        new Conv2d(w, 2 * w, 3, { stride: 2, padding: 1 }), new ReLU(), // 7x7
        new Flatten(),
      );
      this.mu = new Linear(flat, latent);
      this.logvar = new Linear(flat, latent);
      this.decoder = new Sequential(
        new Linear(latent, flat), new ReLU(),
        new Unflatten(1, [2 * w, 7, 7]),
        new ConvTranspose2d(2 * w, w, 4, { stride: 2, padding: 1 }), new ReLU(), // 14x14
        new ConvTranspose2d(w, 1, 4, { stride: 2, padding: 1 }), new Sigmoid(), // 28x28
      );
    }
  }

  codeShape(): number[] {
    return [this.latent];
  }

  /** Parameters of q(z|x): mean and log-variance, each [N, latent]. */
  encodeDistribution(x: Tensor): { mu: Tensor; logvar: Tensor } {
    const flatIn = this.config.kind === 'mlp' && x.rank > 2 ? x.flatten(1) : x;
    const h = this.encoder.call(flatIn);
    return { mu: this.mu.call(h), logvar: this.logvar.call(h) };
  }

  /** The code of each input: the posterior mean. */
  encode(x: Tensor): Tensor {
    return this.encodeDistribution(x).mu;
  }

  /** Images (pixel means) from codes [N, latent]. */
  decode(z: Tensor): Tensor {
    return this.decodeLogits(z).sigmoid();
  }

  /**
   * The decoder without its final Sigmoid: pixel logits. The loss uses these (BCE on logits),
   * which stays finite where the Sigmoid saturates to exactly 0 or 1 in float32.
   */
  decodeLogits(z: Tensor): Tensor {
    const layers = this.decoder.namedChildren();
    const [, last] = layers[layers.length - 1]!;
    if (!(last instanceof Sigmoid)) throw new Error('a VAE decoder must end in Sigmoid');
    let y = z.rank > 2 ? z.flatten(1) : z;
    // Each layer in the decoder's scope, as Sequential.call would run them.
    y = z.g.withScope(`${this.decoder.path || 'decoder'} (Sequential)`, () => {
      let h = y;
      for (const [, layer] of layers.slice(0, -1)) h = layer.call(h);
      return h;
    });
    return this.config.kind === 'mlp' && this.inputShape.length > 1 ? y.reshape([y.dim(0), ...this.inputShape]) : y;
  }

  /**
   * z = mu + exp(0.5·logvar)·eps. Without `eps`, eps ~ N(0, I) is a graph input that the
   * runtime fills from its seeded generator on every run (reproducible, resumable).
   */
  reparameterize(mu: Tensor, logvar: Tensor, eps?: Tensor): Tensor {
    const noise = eps ?? this.ctx(mu.g).random(mu.shape, 'normal');
    return mu.add(logvar.mul(0.5).exp().mul(noise));
  }

  /** Encode, sample z and decode (always samples, also in eval mode: an ELBO estimate). */
  sample(x: Tensor, eps?: Tensor): VaeForward {
    const { mu, logvar } = this.encodeDistribution(x);
    const z = this.reparameterize(mu, logvar, eps);
    const logits = this.decodeLogits(z);
    return { recon: logits.sigmoid(), logits, mu, logvar, z };
  }

  forward(x: Tensor): Tensor {
    return this.training ? this.sample(x).recon : this.decode(this.encode(x));
  }
}

// ---------------- objective ----------------

export type VaeReconstruction = 'bce' | 'mse';

export interface VaeLossTerms {
  /** Batch mean of recon + β·kl: what is minimised. */
  loss: Tensor;
  /** Batch mean of the per-sample reconstruction term (BCE or squared error, summed over pixels). */
  recon: Tensor;
  /** Batch mean of KL(q(z|x) || N(0, I)). */
  kl: Tensor;
}

/**
 * The VAE objective. `beta` is a number or a per-sample tensor [N] or [N, 1] (the KL weight fed
 * as a graph input, e.g. during warm-up). Reconstruction: 'bce' = Bernoulli negative
 * log-likelihood, 'mse' = sum of squared errors (pythae's MSE VAE uses half of it).
 */
export function vaeLoss(out: VaeForward, x: Tensor, opts: { recon?: VaeReconstruction; beta?: number | Tensor } = {}): VaeLossTerms {
  const bce = (opts.recon ?? 'bce') === 'bce';
  // BCE from logits when available: the same value as PyTorch's binary_cross_entropy on
  // sigmoid outputs, with finite gradients where the Sigmoid rounds to exactly 0 or 1.
  const perPixel = bce ? (out.logits ? bceWithLogitsLoss(out.logits, x, 'none') : bceLoss(out.recon, x, 'none')) : mseLoss(out.recon, x, 'none');
  const recon = perPixel.rank > 1 ? perPixel.flatten(1).sum([1]) : perPixel;
  const kl = gaussianKl(out.mu, out.logvar);
  const beta = opts.beta ?? 1;
  let weighted: Tensor;
  if (typeof beta === 'number') weighted = beta === 1 ? kl : kl.mul(beta);
  else weighted = kl.mul(beta.rank > 1 ? beta.flatten(1).reshape([beta.dim(0)]) : beta);
  return { loss: recon.add(weighted).mean(), recon: recon.mean(), kl: kl.mean() };
}

export interface VaeStepOptions {
  recon?: VaeReconstruction;
  /** KL weight when it is not fed as an input (default 1). */
  beta?: number;
  /** Graph input 'eps' [latent] after x: the noise is fed by the caller instead of drawn by the runtime. */
  noiseInput?: boolean;
  /** Graph input 'beta' [1] (last): the KL weight per sample, fed by the caller (warm-up). */
  betaInput?: boolean;
}

/** Graph inputs for `vaeStep`: x, then 'eps' and 'beta' when asked for. */
export function vaeInputs(inputShape: number[], latent: number, o: VaeStepOptions = {}): InputSpec[] {
  const specs: InputSpec[] = [{ name: 'x', shape: inputShape }];
  if (o.noiseInput) specs.push({ name: 'eps', shape: [latent] });
  if (o.betaInput) specs.push({ name: 'beta', shape: [1] });
  return specs;
}

/**
 * The training/evaluation objective as a StepFn. Metrics: `recon`, `kl` (batch means),
 * `elbo` (= -(recon + kl), the evidence lower bound per sample, in nats), `mse` (per pixel),
 * and `beta` when it is fed.
 */
export function vaeStep(o: VaeStepOptions = {}): StepFn {
  return (m, inputs) => {
    const vae = m as VariationalAutoencoder;
    const x = inputs[0]!;
    const eps = o.noiseInput ? inputs[1] : undefined;
    const betaIn = o.betaInput ? inputs[inputs.length - 1] : undefined;
    const out = vae.sample(x, eps);
    const t = vaeLoss(out, x, { recon: o.recon, beta: betaIn ?? o.beta ?? 1 });
    const metrics: Record<string, Tensor> = { recon: t.recon, kl: t.kl, elbo: t.recon.add(t.kl).neg(), mse: mseLoss(out.recon, x) };
    if (betaIn) metrics.beta = betaIn.mean();
    return { loss: t.loss, metrics, outputs: { mu: out.mu, logvar: out.logvar, recon: out.recon } };
  };
}

/** KL weight at a 0-based epoch: β·min(1, epoch / warmup), i.e. 0 at epoch 0 when warmup > 0. */
export function klWeight(epoch: number, beta = 1, warmup = 0): number {
  if (!(warmup > 0)) return beta;
  return beta * Math.min(1, Math.max(0, epoch) / warmup);
}

/**
 * Trainer feeds for a VAE with a fed KL weight: [x, beta]. Training batches get the warm-up
 * weight of their epoch; evaluation always uses the full β, so valid losses stay comparable.
 */
export function vaeFeeds(beta = 1, warmup = 0): (batch: Batch, rng: unknown, info: FeedInfo) => Float32Array[] {
  let buf = new Float32Array(0);
  return (batch, _rng, info) => {
    const w = info.training ? klWeight(info.epoch, beta, warmup) : beta;
    if (buf.length < batch.n) buf = new Float32Array(batch.n);
    const col = buf.subarray(0, batch.n).fill(w);
    return [batch.x, col];
  };
}

// ---------------- presets ----------------

function numberOption(cfg: ModelConfig, key: string, dflt: number, check: (v: number) => boolean, what: string): number {
  const v = cfg[key] ?? dflt;
  if (typeof v !== 'number' || !check(v)) throw new Error(`preset ${cfg.preset}: option "${key}" must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

function latentOf(cfg: ModelConfig): number {
  const v = cfg.latent ?? cfg.bottleneck ?? 16;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`preset ${cfg.preset}: "latent" must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function hiddenOf(cfg: ModelConfig): number[] {
  const v = cfg.hidden ?? [512, 256];
  const arr = typeof v === 'number' ? [v] : v;
  if (!Array.isArray(arr) || !arr.length || arr.some((h) => !Number.isInteger(h) || h < 1)) throw new Error(`preset ${cfg.preset}: "hidden" must be a list of positive integers, e.g. [512, 256], got ${JSON.stringify(v)}`);
  return arr as number[];
}

const beta = (cfg: ModelConfig) => numberOption(cfg, 'beta', 1, (v) => v >= 0 && Number.isFinite(v), 'a non-negative number');
const warmup = (cfg: ModelConfig) => numberOption(cfg, 'warmup', 0, (v) => v >= 0 && Number.isFinite(v), 'a non-negative number of epochs');

function vaePreset(description: string, options: string[], build: (cfg: ModelConfig) => VariationalAutoencoder, epochs: number): Preset {
  const inputShape = [1, 28, 28];
  return {
    description,
    inputShape,
    defaults: { lr: 1e-3, batchSize: 128, epochs, loss: 'bce', optimizer: 'adam' },
    options: [...options, 'latent', 'bottleneck', 'beta', 'warmup'],
    build,
    // β is always fed (a [N, 1] column), so warm-up needs no recompilation.
    inputs: (cfg) => vaeInputs(inputShape, latentOf(cfg), { betaInput: true }),
    step: (hp) => vaeStep({ recon: hp.loss, betaInput: true }),
    feeds: (cfg) => vaeFeeds(beta(cfg), warmup(cfg)),
  };
}

registerPreset(
  'vae-mlp',
  vaePreset(
    'variational autoencoder, MLP (options: latent (or --bottleneck) 16, hidden [512, 256], beta 1, warmup 0 epochs)',
    ['hidden'],
    (cfg) => new VariationalAutoencoder({ kind: 'mlp', inputShape: [1, 28, 28], hidden: hiddenOf(cfg), latent: latentOf(cfg) }),
    30,
  ),
);

registerPreset(
  'vae-conv',
  vaePreset(
    'variational autoencoder, strided convolutions (options: latent (or --bottleneck) 16, width 32, beta 1, warmup 0 epochs)',
    ['width'],
    (cfg) => new VariationalAutoencoder({ kind: 'conv', latent: latentOf(cfg), width: numberOption(cfg, 'width', 32, (v) => Number.isInteger(v) && v >= 1, 'a positive integer') }),
    20,
  ),
);
