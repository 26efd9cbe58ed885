// Checkpoints: one safetensors file holding weights, buffers and optimizer state, with the
// run's state in its __metadata__, so a single atomic rename publishes all of it. A JSON
// sidecar beside it repeats the metadata for people and other tools.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import type { Module, StateDict } from '../nn/module.js';
import { decodeSafetensors, encodeSafetensors } from '../nn/safetensors.js';
import type { ParamStore } from '../runtime/compile.js';
import type { Optimizer } from '../optim/optimizer.js';

export const OPTIMIZER_PREFIX = 'optimizer.';

export interface CheckpointMeta {
  epoch: number;
  step: number;
  [key: string]: unknown;
}

export function saveCheckpoint(path: string, store: ParamStore, opt: Optimizer | undefined, meta: CheckpointMeta): void {
  store.sync();
  const sd: StateDict = new Map(store.model.stateDict());
  if (opt)
    for (const [k, t] of store.optimizerState(opt))
      sd.set(OPTIMIZER_PREFIX + k, { data: t.data as Float32Array, shape: [...t.dims], dtype: 'float32' });
  writeFileAtomic(path, encodeSafetensors(sd, { latentkit: JSON.stringify(meta) }));
  writeFileAtomic(path.replace(/\.safetensors$/, '.json'), JSON.stringify({ ...meta, weights: path.split('/').pop() }, null, 2) + '\n');
}

export interface LoadedCheckpoint {
  weights: StateDict;
  optimizer: StateDict;
  meta: CheckpointMeta;
  /** The file it was read from, for error messages. */
  path?: string;
}

export function readCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new Error(`${path}: no such checkpoint`);
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  const weights: StateDict = new Map();
  const optimizer: StateDict = new Map();
  for (const [k, v] of tensors) (k.startsWith(OPTIMIZER_PREFIX) ? optimizer.set(k.slice(OPTIMIZER_PREFIX.length), v) : weights.set(k, v));
  let meta: CheckpointMeta = { epoch: 0, step: 0 };
  try {
    if (metadata.latentkit) meta = JSON.parse(metadata.latentkit) as CheckpointMeta;
  } catch (e) {
    throw new Error(`${path}: the checkpoint's latentkit metadata is not JSON (${(e as Error).message})`);
  }
  return { weights, optimizer, meta, path };
}

/** Load a checkpoint (or plain PyTorch safetensors) into a model, and optimizer state into a store. */
export function restore(model: Module, ck: LoadedCheckpoint, store?: ParamStore, opt?: Optimizer): void {
  model.loadStateDict(ck.weights, true, ck.path);
  if (!store) return;
  store.reload();
  if (opt) {
    store.ensureOptimizerState(opt);
    for (const [k, e] of ck.optimizer) {
      const cur = store.values.get(k);
      if (!cur) throw new Error(`${ck.path ?? 'checkpoint'}: optimizer state ${k} does not belong to this model`);
      if (e.dtype !== 'float32' || e.data.length !== cur.data.length) throw new Error(`${ck.path ?? 'checkpoint'}: optimizer state ${k} is ${e.dtype} [${e.shape}], the model needs float32 [${cur.dims}]`);
      (cur.data as Float32Array).set(e.data as Float32Array);
    }
  }
  store.step = ck.meta.step;
}
