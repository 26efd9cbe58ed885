// Named model presets with their training defaults, and JSON model configs validated key by key.
import { readFileSync } from 'node:fs';
import type { Batch } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import type { InputSpec, StepFn } from '../runtime/compile.js';
import type { FeedInfo } from '../train/trainer.js';
import type { Rng } from '../util/random.js';
import { parseSchedule } from '../optim/schedule.js';
import { quote } from '../util/quote.js';
import { ConvAutoencoder, DeepConvAutoencoder, type Autoencoder } from './conv-autoencoder.js';

export interface TrainDefaults {
  lr: number;
  batchSize: number;
  epochs: number;
  loss: 'mse' | 'bce';
  optimizer: 'adam' | 'adamw' | 'sgd';
  schedule?: string;
  /** Data-parallel threads when the user gives none (default 1); 'auto' = all cores. */
  workers?: number | 'auto';
}

export interface ModelConfig {
  preset: string;
  bottleneck?: number;
  width?: number;
  /** Per-sample input [C, H, W] for presets built for the shape (default: the preset's inputShape). */
  inputShape?: number[];
  [option: string]: unknown;
}

export interface Preset {
  description: string;
  /** Per-sample input shape (the default where the preset is built for any image shape). */
  inputShape: number[];
  /**
   * True when build() adapts to `cfg.inputShape` (any [1|3, H, W]); other presets take only
   * `inputShape` and refuse another with a message naming the preset.
   */
  anyImageShape?: boolean;
  defaults: TrainDefaults;
  /** Keys of ModelConfig this preset understands besides `preset`. */
  options: string[];
  /** The command that trains this preset when it is not `latentkit train` (e.g. 'train-seq'). */
  trainCommand?: string;
  /** Tables: the numeric transform `train-tabular` uses unless told otherwise (default standard). */
  tabularNumeric?: 'standard' | 'rankgauss' | 'none';
  build(cfg: ModelConfig): Autoencoder;
  /**
   * Training objective; default: reconstruct the input with the `loss` default (MSE or BCE).
   * Receives the model and the graph inputs (see `inputs`).
   */
  step?: (hp: TrainDefaults, cfg: ModelConfig) => StepFn;
  /** Graph inputs besides the images; default [{ name: 'x', shape: inputShape }]. */
  inputs?: (cfg: ModelConfig) => InputSpec[];
  /** Turns a loader batch into graph inputs, e.g. adds noise (default [batch.x]); `info` gives the epoch. */
  feeds?: (cfg: ModelConfig) => (batch: Batch, rng: Rng, info: FeedInfo) => (Float32Array | BigInt64Array)[];
}

export const PRESETS: Record<string, Preset> = {
  'seed-cnn': {
    description: "the chapter's ConvAutoencoder exactly (4 code channels; --bottleneck K to change)",
    inputShape: [1, 28, 28],
    // Two workers of 16 rows (the chapter's batch 32, on 2 cores): its 20-epoch experiment took
    // 92-97 s against 126-128 s on one thread (two idle-machine runs of npm run bench).
    defaults: { lr: 0.02, batchSize: 32, epochs: 20, loss: 'mse', optimizer: 'adam', workers: 'auto' },
    options: ['bottleneck', 'inputShape'],
    build: (c) => {
      checkPresetShape('seed-cnn', c);
      return new ConvAutoencoder(c.bottleneck ?? 4);
    },
  },
  cnn: {
    description: 'a stronger convolutional autoencoder (strided convs, linear bottleneck) with the same 4-number code; built for any [1|3, H, W] (--image-size, --channels)',
    inputShape: [1, 28, 28],
    anyImageShape: true,
    // 2 workers: +29-38% img/s over one thread in four alternating 20,000-image epochs.
    defaults: { lr: 2e-3, batchSize: 64, epochs: 20, loss: 'mse', optimizer: 'adam', schedule: 'cosine', workers: 'auto' },
    options: ['bottleneck', 'width', 'inputShape'],
    build: (c) => new DeepConvAutoencoder(c.bottleneck ?? 4, c.width ?? 16, inputShapeOf(c)),
  },
};

/** The per-sample input shape a model config is built for. */
export function inputShapeOf(cfg: ModelConfig): number[] {
  return cfg.inputShape ? [...cfg.inputShape] : [...getPreset(cfg.preset).inputShape];
}

/** Refuse a shape the preset was not made for, saying which preset takes it. */
export function checkPresetShape(name: string, cfg: ModelConfig): void {
  const p = getPreset(name);
  const want = inputShapeOf(cfg);
  if (p.anyImageShape || want.join(',') === p.inputShape.join(',')) return;
  const others = presetNames().filter((n) => PRESETS[n]!.anyImageShape);
  throw new Error(`preset ${name} takes [${p.inputShape}] only (${name === 'seed-cnn' ? "the chapter's 28x28 grayscale model" : 'a fixed-size model'}), not [${want}]; use --preset ${others.join(' or ')} for other image sizes and colour`);
}

/** Add a preset (model families register theirs from their own modules). */
export function registerPreset(name: string, preset: Preset): void {
  if (PRESETS[name]) throw new Error(`preset ${name} registered twice`);
  PRESETS[name] = preset;
}

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset "${name}"; choose one of: ${presetNames().join(', ')}`);
  return p;
}

const TRAIN_KEYS = ['lr', 'batchSize', 'epochs', 'loss', 'optimizer', 'schedule'];
export const LOSSES: TrainDefaults['loss'][] = ['mse', 'bce'];
export const OPTIMIZERS: TrainDefaults['optimizer'][] = ['adam', 'adamw', 'sgd'];

const isPositiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

/** Why a training setting's value is not usable, or undefined when it is. */
function trainValueProblem(key: string, v: unknown): string | undefined {
  if (key === 'loss' && !LOSSES.includes(v as TrainDefaults['loss'])) return `is not supported; use one of: ${LOSSES.join(', ')}`;
  if (key === 'optimizer' && !OPTIMIZERS.includes(v as TrainDefaults['optimizer'])) return `is not supported; use one of: ${OPTIMIZERS.join(', ')}`;
  if (key === 'lr' && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) return 'must be a positive number, e.g. 0.001';
  if ((key === 'batchSize' || key === 'epochs') && !isPositiveInt(v)) return 'must be a positive integer';
  if (key === 'schedule') {
    if (typeof v !== 'string') return 'must be a string like "cosine" or "step:5:0.5"';
    parseSchedule(v, 1);
  }
  return undefined;
}

/** Model options that are sizes: positive integers wherever they appear. */
const SIZE_OPTIONS = ['bottleneck', 'width', 'latent', 'hidden', 'layers', 'frameSize', 'window', 'features'];

function modelValueProblem(key: string, v: unknown): string | undefined {
  if (!SIZE_OPTIONS.includes(key)) return undefined;
  const ok = Array.isArray(v) ? v.length > 0 && v.every(isPositiveInt) : isPositiveInt(v);
  return ok ? undefined : key === 'hidden' ? 'must be a positive integer or a list of them' : 'must be a positive integer';
}

/** Read a JSON model config: {"preset": "seed-cnn", "bottleneck": 10, "lr": 0.01, ...}. */
export function readModelConfig(path: string): { model: ModelConfig; train: Partial<TrainDefaults> } {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read model config: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: expected a JSON object like {"preset": "seed-cnn"}`);
  if (typeof raw.preset !== 'string') throw new Error(`${path}: missing "preset" (one of ${presetNames().join(', ')})`);
  let preset: Preset;
  try {
    preset = getPreset(raw.preset);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const model: ModelConfig = { preset: raw.preset };
  const train: Partial<TrainDefaults> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'preset') continue;
    const isModel = preset.options.includes(k);
    if (!isModel && !TRAIN_KEYS.includes(k)) throw new Error(`${path}: unknown key ${quote(k)}; allowed: preset, ${[...preset.options, ...TRAIN_KEYS].join(', ')}`);
    let problem: string | undefined;
    try {
      problem = isModel ? modelValueProblem(k, v) : trainValueProblem(k, v);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (problem) throw new Error(`${path}: "${k}": ${quote(v)} ${problem}`);
    if (isModel) (model as unknown as Record<string, unknown>)[k] = v;
    else (train as Record<string, unknown>)[k] = v;
  }
  return { model, train };
}

export function buildModel(cfg: ModelConfig): Module & Autoencoder {
  if (cfg.inputShape) checkPresetShape(cfg.preset, cfg);
  return getPreset(cfg.preset).build(cfg);
}
