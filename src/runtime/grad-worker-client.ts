// The main thread's side of one data-parallel gradient worker (grad-worker.mjs): posts a step's
// inputs, resolves with its outputs. Inputs are copied into buffers of their own and transferred
// (onnxruntime-node refuses SharedArrayBuffer-backed tensors); the worker sends them back with
// its results, and the next step copies into those instead of allocating new ones.
import type { Worker } from 'node:worker_threads';

export type Rows = Float32Array | BigInt64Array;
export interface WorkerInput {
  name: string;
  data: Rows;
  dims: number[];
  dtype: string;
}

interface WorkerReply {
  id: number;
  result?: Record<string, Float32Array>;
  spare?: Record<string, Rows>;
  error?: string;
}

export class GradWorker {
  private pending = new Map<number, (r: WorkerReply) => void>();
  private nextId = 0;
  private spare = new Map<string, Rows>();
  readonly ready: Promise<void>;

  constructor(readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m: WorkerReply & { ready?: boolean }) => {
        if (m.ready) return resolve();
        for (const [name, data] of Object.entries(m.spare ?? {})) this.spare.set(name, data);
        this.pending.get(m.id)?.(m);
        this.pending.delete(m.id);
      });
    });
  }

  /** Run the gradient graph on these inputs (views are copied, never transferred) and fetch `outputs`. */
  run(inputs: WorkerInput[], outputs: string[]): Promise<Record<string, Float32Array>> {
    const id = this.nextId++;
    const sent = inputs.map((i) => ({ ...i, data: this.copy(i.name, i.data) }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.error ? reject(new Error(`gradient worker: ${m.error}`)) : resolve(m.result!)));
      this.worker.postMessage({ id, inputs: sent, outputs }, sent.map((i) => i.data.buffer as ArrayBuffer));
    });
  }

  private copy(name: string, src: Rows): Rows {
    const old = this.spare.get(name);
    this.spare.delete(name);
    const dst = old && old.length === src.length && old.constructor === src.constructor ? old : src instanceof BigInt64Array ? new BigInt64Array(src.length) : new Float32Array(src.length);
    (dst as Float32Array).set(src as Float32Array);
    return dst;
  }
}
