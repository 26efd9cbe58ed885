// Will a model train in this machine's memory? Estimated from a shape-only trace before the
// training graph and its onnxruntime session are built (where the memory would go): weights,
// gradients and two optimizer moments (4 x 4 bytes per parameter) plus every activation of a
// batch, kept for the backward pass and matched by a gradient of the same size; times a
// measured runtime overhead.
import { totalmem } from 'node:os';
import type { DType } from '../graph/ir.js';
import type { Module } from '../nn/module.js';
import { traceStep, type InputSpec, type StepFn } from '../runtime/compile.js';

export interface MemoryEstimate {
  parameters: number;
  parameterBytes: number;
  activationBytes: number;
  batchSize: number;
  totalBytes: number;
}

const BYTES: Record<DType, number> = { float32: 4, int64: 8, int32: 4, bool: 1 };

/**
 * Measured, not derived: onnxruntime's copies of the weights and its workspace about double the
 * sum (seed-cnn --bottleneck 20000, batch 32: 0.98 GB estimated, 1.9 GB peak RSS over a small run's).
 */
const RUNTIME_OVERHEAD = 2;

export function trainingMemoryEstimate(model: Module, inputs: InputSpec[], step: StepFn, batchSize: number): MemoryEstimate {
  const parameters = model.numParameters();
  const parameterBytes = parameters * 4 * 4;
  const wasTraining = model.training;
  const { ctx } = traceStep(model, inputs, step, true);
  model.train(wasTraining);
  let activationBytes = 0;
  for (const node of ctx.g.nodes)
    for (const v of node.outputs) activationBytes += v.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : batchSize), 1) * BYTES[v.dtype];
  // Kept for the backward pass, and a gradient of each.
  activationBytes *= 2;
  return { parameters, parameterBytes, activationBytes, batchSize, totalBytes: RUNTIME_OVERHEAD * (parameterBytes + activationBytes) };
}

const GB = 2 ** 30;
const size = (b: number) => (b >= GB ? `${(b / GB).toFixed(1)} GB` : `${(b / 2 ** 20).toFixed(1)} MB`);

/** "8G", "512M" or a byte count, as LATENTKIT_MEMORY_LIMIT takes it. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$/i.exec(text);
  if (!m) throw new Error(`LATENTKIT_MEMORY_LIMIT: expected a size like 8G or 512M, got "${text.slice(0, 40)}"`);
  return Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
}

/** The memory a training run may plan for: LATENTKIT_MEMORY_LIMIT, else 80% of this machine's memory. */
export function memoryLimit(): { bytes: number; what: string } {
  const env = process.env.LATENTKIT_MEMORY_LIMIT;
  if (env) return { bytes: parseBytes(env), what: `${size(parseBytes(env))} of LATENTKIT_MEMORY_LIMIT` };
  const bytes = totalmem() * 0.8;
  return { bytes, what: `${size(bytes)} (80% of this machine's ${size(totalmem())}; LATENTKIT_MEMORY_LIMIT sets another limit)` };
}

/** Throw, with the numbers, when the estimate exceeds `limitBytes`. */
export function checkTrainingMemory(est: MemoryEstimate, limitBytes = memoryLimit().bytes, what = size(limitBytes)): void {
  if (est.totalBytes <= limitBytes) return;
  const params = est.parameters >= 1e6 ? `${(est.parameters / 1e6).toFixed(1)}M` : String(est.parameters);
  throw new Error(
    `this model needs about ${size(est.totalBytes)} to train (${params} parameters: ${size(est.parameterBytes)} for weights, gradients and optimizer state; ` +
      `activations for a batch of ${est.batchSize}: ${size(est.activationBytes)}; x${RUNTIME_OVERHEAD} for the runtime), more than the ${what}; use a smaller model (e.g. --bottleneck, --width, --hidden) or --batch-size`,
  );
}
