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
}

export async function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: opts.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opts.layoutOptimizations === false ? 'extended' : 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
  });
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
