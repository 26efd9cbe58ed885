// A trained image autoencoder run on disk: rebuild its model from config.json, load its
// checkpoint, and run codes / reconstructions in batches.
import { existsSync, readdirSync } from 'node:fs';
import { readJsonFile } from '../data/json-file.js';
import { join } from 'node:path';
import type { Autoencoder } from '../models/conv-autoencoder.js';
import type { Module } from '../nn/module.js';
import { buildModel, inputShapeOf, type ModelConfig } from '../models/index.js';
import { readCheckpoint } from './checkpoint.js';
import { AutoencoderRunner } from '../runtime/inference.js';
import type { ParamStore } from '../runtime/compile.js';

/** What every loaded run has: its folder, config.json and the model config in it. */
export interface RunBase {
  dir: string;
  modelConfig: ModelConfig;
  config: Record<string, unknown>;
}

export interface LoadedRun extends RunBase {
  model: Autoencoder;
  /** Per-sample input [C, H, W] the run was trained at (config.json's model.inputShape, else the preset's). */
  inputShape: number[];
}

export interface RunFiles {
  config: Record<string, unknown>;
  modelConfig: ModelConfig;
  model: Module;
}

/**
 * The model a run folder holds: rebuilt from config.json, with the best (or last) checkpoint's
 * weights. `writtenBy` names the command that makes such folders, for the error message.
 */
export function readRunModel(dir: string, checkpoint: 'best' | 'last', writtenBy: string, extraFiles: string[] = []): RunFiles {
  const needed = ['config.json', ...extraFiles];
  if (needed.some((f) => !existsSync(join(dir, f))))
    throw new Error(`${dir}: not a latentkit run (needs ${needed.join(' and ')}); pass the folder that ${writtenBy} wrote, e.g. logs/trial_0_autoencoder`);
  const configPath = join(dir, 'config.json');
  const config = readJsonFile(configPath, 'run config');
  const modelConfig = config.model as ModelConfig;
  if (typeof modelConfig?.preset !== 'string') throw new Error(`${configPath}: no "model" with a "preset"; is this a latentkit run folder?`);
  const model = buildModel(modelConfig);
  const ckPath = join(dir, 'checkpoints', `${checkpoint}.safetensors`);
  model.loadStateDict(readCheckpoint(ckPath).weights, true, ckPath);
  return { config, modelConfig, model };
}

export function loadRun(dir: string, checkpoint: 'best' | 'last' = 'best'): LoadedRun {
  const { config, modelConfig, model } = readRunModel(dir, checkpoint, 'train');
  return { dir, model: model as Autoencoder, modelConfig, inputShape: inputShapeOf(modelConfig), config };
}

/** Codes and reconstructions for many samples, batch by batch. */
export async function runAutoencoder(run: { model: Autoencoder; inputShape: number[] }, images: Float32Array, n: number, batchSize = 500, store?: ParamStore) {
  const runner = new AutoencoderRunner(run.model, run.inputShape, { batchSize, store });
  try {
    const { codes, recon } = await runner.forward(images, n);
    return { recon, codes, codeSize: runner.codeSize };
  } finally {
    await runner.release();
  }
}

/** Next free `logs/trial_{N}_autoencoder`, or with resume the newest existing one. */
export function trialDir(root = 'logs', resume = false): string {
  const taken = existsSync(root)
    ? readdirSync(root).map((d) => /^trial_(\d+)_autoencoder$/.exec(d)?.[1]).filter((x): x is string => !!x).map(Number)
    : [];
  if (resume) {
    if (!taken.length) throw new Error(`--resume: no trial folder in ${root}/; pass --out DIR`);
    return join(root, `trial_${Math.max(...taken)}_autoencoder`);
  }
  return join(root, `trial_${taken.length ? Math.max(...taken) + 1 : 0}_autoencoder`);
}
