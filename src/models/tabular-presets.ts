// Presets `mlp` and `dae-tabular`. With `inputSize` in the model config (set by
// `latentkit train-tabular` from the preprocessed table's width) they are tabular models with a
// linear output trained with the mixed-type loss; without it they take Fashion-MNIST images
// ([1, 28, 28], flattened) with a Sigmoid output, so `latentkit train --preset mlp` works too.
import type { Tensor } from '../graph/tensor.js';
import { bceLoss, mseLoss } from '../losses/index.js';
import type { StepFn } from '../runtime/compile.js';
import { DEFAULT_NOISE, DenoisingAutoencoder, type DenoisingConfig } from './denoising.js';
import { MLPAutoencoder, type MLPAutoencoderConfig } from './mlp-autoencoder.js';
import { registerPreset, type ModelConfig, type TrainDefaults } from './presets.js';
import { applyNoise, type NoiseSpec } from '../data/noise.js';

export * from './denoising.js';

export const MLP_PRESET_OPTIONS = ['inputSize', 'hidden', 'bottleneck', 'activation', 'dropout', 'batchNorm', 'codeActivation', 'output'];
const IMAGE_SHAPE = [1, 28, 28];

/** The MLPAutoencoder config a preset builds: preset defaults, then the config's keys. */
export function mlpConfigOf(cfg: ModelConfig, dae = false): MLPAutoencoderConfig {
  const tabular = cfg.inputSize !== undefined;
  const d = dae
    ? { hidden: tabular ? [256] : [512], bottleneck: tabular ? 256 : 512, codeActivation: true }
    : { hidden: tabular ? [64] : [512, 256], bottleneck: tabular ? 8 : 32, codeActivation: false };
  const out: MLPAutoencoderConfig = {
    input: tabular ? (cfg.inputSize as number) : 784,
    hidden: (cfg.hidden as number[] | undefined) ?? d.hidden,
    bottleneck: cfg.bottleneck ?? d.bottleneck,
    codeActivation: (cfg.codeActivation as boolean | undefined) ?? d.codeActivation,
    output: (cfg.output as MLPAutoencoderConfig['output']) ?? (tabular ? 'linear' : 'sigmoid'),
  };
  for (const k of ['activation', 'dropout', 'batchNorm'] as const) if (cfg[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = cfg[k];
  if (!tabular) out.inputShape = IMAGE_SHAPE;
  return out;
}

function imageStep(hp: TrainDefaults): StepFn {
  const lossFn = hp.loss === 'bce' ? bceLoss : mseLoss;
  return (m, [noisy, clean]) => {
    const recon = m.call(noisy!) as Tensor;
    const metrics: Record<string, Tensor> = hp.loss === 'bce' ? { mse: mseLoss(recon, clean!) } : {};
    return { loss: lossFn(recon, clean!), metrics };
  };
}

registerPreset('mlp', {
  description: 'MLP autoencoder (options: hidden, bottleneck, activation, dropout, batchNorm, codeActivation, output); tables via `latentkit train-tabular`, else Fashion-MNIST flattened',
  inputShape: IMAGE_SHAPE,
  defaults: { lr: 1e-3, batchSize: 128, epochs: 20, loss: 'mse', optimizer: 'adam' },
  options: MLP_PRESET_OPTIONS,
  build: (cfg) => MLPAutoencoder.fromConfig(mlpConfigOf(cfg), `preset mlp`),
});

/**
 * The Porto Seguro recipe (Michael Jahrer's winning solution, Kaggle 2017): RankGauss inputs,
 * swap noise 0.15, a deep DAE of three ReLU layers of 1500, all three layers (4500 numbers) as
 * the features of a downstream MLP. The same settings drive `latentkit probe --recipe porto-seguro`.
 */
export const PORTO_SEGURO = {
  numeric: 'rankgauss' as const,
  hidden: [1500],
  bottleneck: 1500,
  noise: [{ kind: 'swap', p: 0.15, from: 'batch' }] as NoiseSpec[],
  train: { lr: 3e-4, batchSize: 128, epochs: 100 },
};

registerPreset('porto-seguro', {
  description: 'the Porto Seguro recipe: RankGauss inputs, swap noise 0.15, DAE of 3 ReLU layers of 1500, all layers (4500) as features (options: the mlp ones plus noise, features); tables via `latentkit train-tabular`',
  inputShape: IMAGE_SHAPE,
  defaults: { ...PORTO_SEGURO.train, loss: 'mse', optimizer: 'adam' },
  options: [...MLP_PRESET_OPTIONS, 'noise', 'features'],
  tabularNumeric: PORTO_SEGURO.numeric,
  build: (cfg) => {
    if (cfg.inputSize === undefined) throw new Error('preset porto-seguro is for tables: train it with `latentkit train-tabular --preset porto-seguro`');
    return DenoisingAutoencoder.fromConfig({ ...mlpConfigOf({ hidden: PORTO_SEGURO.hidden, bottleneck: PORTO_SEGURO.bottleneck, ...cfg }, true), noise: (cfg.noise as NoiseSpec[] | undefined) ?? PORTO_SEGURO.noise, features: cfg.features as number[] | undefined } as DenoisingConfig, 'preset porto-seguro');
  },
});

registerPreset('dae-tabular', {
  description: 'denoising MLP autoencoder, Porto Seguro style (3 ReLU layers of 256, swap noise 0.15; options: the mlp ones plus noise, features); tables via `latentkit train-tabular`',
  inputShape: IMAGE_SHAPE,
  defaults: { lr: 1e-3, batchSize: 128, epochs: 30, loss: 'mse', optimizer: 'adam' },
  options: [...MLP_PRESET_OPTIONS, 'noise', 'features'],
  build: (cfg) => DenoisingAutoencoder.fromConfig({ ...mlpConfigOf(cfg, true), noise: cfg.noise as NoiseSpec[] | undefined, features: cfg.features as number[] | undefined } as DenoisingConfig, 'preset dae-tabular'),
  inputs: () => [{ name: 'noisy', shape: IMAGE_SHAPE }, { name: 'clean', shape: IMAGE_SHAPE }],
  step: (hp) => imageStep(hp),
  feeds: (cfg) => {
    const noise = (cfg.noise as NoiseSpec[] | undefined) ?? DEFAULT_NOISE;
    return (batch, rng) => [applyNoise(batch.x, batch.n, 784, noise, rng, { rowIndex: batch.indices }), batch.x];
  },
});
