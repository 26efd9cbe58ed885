// A trained image autoencoder run on disk: rebuild its model from config.json, load its
// checkpoint, and run codes / reconstructions in batches.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Autoencoder } from '../models/conv-autoencoder.js';
import { buildModel, getPreset, type ModelConfig } from '../models/index.js';
import { ForwardGraph, ParamStore } from '../runtime/compile.js';
import { readCheckpoint } from '../train/checkpoint.js';

export interface LoadedRun {
  dir: string;
  model: Autoencoder;
  modelConfig: ModelConfig;
  inputShape: number[];
  config: Record<string, unknown>;
}

export function loadRun(dir: string, checkpoint: 'best' | 'last' = 'best'): LoadedRun {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new Error(`${dir}: not a latentkit run (no config.json); pass the folder that train wrote, e.g. logs/trial_0_autoencoder`);
  const config = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  const modelConfig = config.model as ModelConfig;
  const model = buildModel(modelConfig);
  const ck = join(dir, 'checkpoints', `${checkpoint}.safetensors`);
  model.loadStateDict(readCheckpoint(ck).weights);
  return { dir, model, modelConfig, inputShape: getPreset(modelConfig.preset).inputShape, config };
}

/** Codes and reconstructions for many samples, batch by batch. */
export async function runAutoencoder(run: { model: Autoencoder; inputShape: number[] }, images: Float32Array, n: number, batchSize = 500) {
  const size = run.inputShape.reduce((a, b) => a * b, 1);
  if (images.length < n * size) throw new Error(`expected ${n} images of shape [${run.inputShape}], got ${images.length} values`);
  const store = new ParamStore(run.model);
  const graph = await ForwardGraph.create(
    run.model,
    [{ name: 'x', shape: run.inputShape }],
    (m, [x]) => {
      const ae = m as Autoencoder;
      const code = ae.encode(x!);
      const recon = ae.decode(code);
      return { loss: recon, outputs: { code: code.flatten(1), recon } };
    },
    store,
    { withLoss: false },
  );
  const recon = new Float32Array(n * size);
  let codes: Float32Array | undefined;
  let codeSize = 0;
  for (let s = 0; s < n; s += batchSize) {
    const b = Math.min(batchSize, n - s);
    const r = await graph.run([images.subarray(s * size, (s + b) * size)], b);
    recon.set(r.outputs.recon!, s * size);
    codeSize = r.dims.code![1]!;
    codes ??= new Float32Array(n * codeSize);
    codes.set(r.outputs.code!, s * codeSize);
  }
  await graph.release();
  return { recon, codes: codes ?? new Float32Array(0), codeSize };
}
