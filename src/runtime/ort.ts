// The one module that imports onnxruntime. Everything else goes through these helpers, so a
// browser build can swap in onnxruntime-web here alone.
import * as ort from 'onnxruntime-node';
import type { DType } from '../graph/ir.js';

export { ort };
export type OrtTensor = ort.Tensor;
export type Feeds = Record<string, ort.Tensor>;

export interface SessionOptions {
  /** Threads inside one op (onnxruntime's intra-op pool). Default 1: small graphs lose to pool overhead. */
  intraOpThreads?: number;
  /** Write an onnxruntime JSON profile with this file prefix. */
  profilePrefix?: string;
  /**
   * onnxruntime's layout pass (NCHWc reorders around convs, part of optimization level 'all').
   * Default true; whether it pays depends on channel counts, batch size and threads.
   */
  layoutOptimizations?: boolean;
  /**
   * onnxruntime's memory pattern (plans one block per run from the first run's shapes). Default
   * true; training sessions turn it off: LSTM b256 with 2 workers peaked ~80 MB lower at the
   * same speed (DESIGN.md notes).
   */
  memPattern?: boolean;
  /** onnxruntime's CPU arena allocator (default true). */
  cpuArena?: boolean;
  /** Let idle intra-op pool threads spin (onnxruntime's default true; only with intraOpThreads > 1). */
  spinning?: boolean;
}

/**
 * onnxruntime's session options for ours: a plain object, so the data-parallel worker thread
 * (grad-worker.mjs, plain JavaScript) creates its session with exactly the same settings.
 */
export function sessionOptions(opts: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: opts.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opts.layoutOptimizations === false ? 'extended' : 'all',
    enableCpuMemArena: opts.cpuArena ?? true,
    enableMemPattern: opts.memPattern ?? true,
    ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
    ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
  };
}

/**
 * Options for sessions that run training steps: no memory pattern unless asked (it keeps a
 * planned block per shape seen; off, LSTM b256 with 2 workers peaked lower at the same speed).
 */
export function trainingSessionOptions<T extends SessionOptions>(opts: T): T {
  return { ...opts, memPattern: opts.memPattern ?? false };
}

export async function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, sessionOptions(opts));
}

export function tensor(dtype: DType, data: Float32Array | BigInt64Array | Int32Array | Uint8Array, dims: readonly number[]): ort.Tensor {
  const t = dtype === 'bool' ? 'bool' : dtype;
  return new ort.Tensor(t as 'float32', data as Float32Array, dims);
}

export function floatTensor(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function scalarTensor(x: number): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.of(x), []);
}

/** A zeroed tensor of the same type and shape (its own buffer). */
export function emptyLike(t: ort.Tensor): ort.Tensor {
  const data = t.type === 'int64' ? new BigInt64Array(t.size) : t.type === 'bool' ? new Uint8Array(t.size) : new Float32Array(t.size);
  return new ort.Tensor(t.type as 'float32', data as Float32Array, t.dims);
}

/** An independent copy (checkpoints, best weights: values that must survive later steps). */
export function copyTensor(t: ort.Tensor): ort.Tensor {
  return new ort.Tensor(t.type as 'float32', (t.data as Float32Array).slice(), t.dims);
}
