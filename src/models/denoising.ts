// Denoising autoencoder: an MLP autoencoder trained to rebuild clean rows from corrupted ones
// (noise drawn per batch on the host, see data/noise.ts), whose hidden layers, concatenated,
// are the features: the "deep stack" DAE of the Porto Seguro winning solution
// (221-1500-1500-1500-221, swap noise 0.15, all three ReLU layers as features).
import { Tensor } from '../graph/tensor.js';
import type { Sequential } from '../nn/layers.js';
import { applyNoise, noiseFeeds, validateNoise, type NoiseContext, type NoiseSpec } from '../data/noise.js';
import type { Batch } from '../data/loader.js';
import type { Rng } from '../util/random.js';
import { Autoencoder } from './conv-autoencoder.js';
import { MLPAutoencoder, type MLPAutoencoderConfig } from './mlp-autoencoder.js';

export interface DenoisingConfig extends MLPAutoencoderConfig {
  /** Corruptions applied in order (default: swap noise with p = 0.15). */
  noise?: NoiseSpec[];
  /** Which hidden layers features() concatenates, by index into hiddenLayers() (default all). */
  features?: number[];
}

export const DEFAULT_NOISE: NoiseSpec[] = [{ kind: 'swap', p: 0.15, from: 'batch' }];

export class DenoisingAutoencoder extends Autoencoder {
  encoder: Sequential;
  decoder: Sequential;
  /** The wrapped network (not a registered child: its layers are this model's encoder/decoder). */
  declare readonly base: MLPAutoencoder;
  readonly noise: NoiseSpec[];
  readonly featureLayers: number[];

  constructor(base: MLPAutoencoder, opts: { noise?: NoiseSpec[]; features?: number[] } = {}) {
    super();
    Object.defineProperty(this, 'base', { value: base, enumerable: false });
    this.encoder = base.encoder;
    this.decoder = base.decoder;
    this.noise = (opts.noise ?? DEFAULT_NOISE).map((s, i) => validateNoise(s, `noise[${i}]`));
    const n = base.hiddenSizes().length;
    this.featureLayers = opts.features ?? Array.from({ length: n }, (_, i) => i);
    for (const i of this.featureLayers) if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`DenoisingAutoencoder: feature layer ${i} does not exist; the model has hidden layers 0..${n - 1} (widths ${base.hiddenSizes().join(', ')})`);
    if (!this.featureLayers.length) throw new Error('DenoisingAutoencoder: choose at least one feature layer');
  }

  /** From the JSON form: the MLP keys plus "noise" and "features". */
  static fromConfig(cfg: DenoisingConfig, where = 'DenoisingAutoencoder config'): DenoisingAutoencoder {
    const { noise, features, ...mlp } = cfg;
    if (noise !== undefined && !Array.isArray(noise)) throw new Error(`${where}: "noise" must be a list like [{"kind": "swap", "p": 0.15}], got ${JSON.stringify(noise)}`);
    if (features !== undefined && !Array.isArray(features)) throw new Error(`${where}: "features" must be a list of hidden-layer indices, got ${JSON.stringify(features)}`);
    return new DenoisingAutoencoder(MLPAutoencoder.fromConfig(mlp, where), { noise: noise?.map((s, i) => validateNoise(s, `${where}: noise[${i}]`)), features });
  }

  codeShape(): number[] {
    return this.base.codeShape();
  }

  forward(x: Tensor): Tensor {
    return this.decoder.call(this.encoder.call(x));
  }

  hiddenLayers(x: Tensor): Tensor[] {
    return this.base.hiddenLayers(x);
  }

  /** Width of features(): the sum of the chosen hidden layers' widths. */
  featureSize(layers = this.featureLayers): number {
    const sizes = this.base.hiddenSizes();
    return layers.reduce((a, i) => a + sizes[i]!, 0);
  }

  /** The chosen hidden layers of x, concatenated per sample: [N, featureSize()]. */
  features(x: Tensor, layers = this.featureLayers): Tensor {
    const hs = this.hiddenLayers(x);
    const picked = layers.map((i) => hs[i]!);
    return picked.length === 1 ? picked[0]! : Tensor.concat(picked, 1);
  }

  /** A corrupted copy of a batch (n rows of `width`), drawn from `rng`. */
  corrupt(x: Float32Array, n: number, width: number, rng: Rng, ctx: NoiseContext = {}): Float32Array {
    return applyNoise(x, n, width, this.noise, rng, ctx);
  }

  /** Trainer feeds: [noisy, clean]; pass `groups` to swap/mask one-hot groups as a unit. */
  feeds(width: number, ctx: Omit<NoiseContext, 'rowIndex' | 'mask'> = {}): (batch: Batch, rng: Rng) => Float32Array[] {
    return noiseFeeds(this.noise, width, ctx);
  }
}
