// The main thread's side of one data-parallel gradient worker (grad-worker.mjs): posts a step's
// inputs, resolves with its outputs. Inputs are copied into buffers of their own and transferred
// (onnxruntime-node refuses SharedArrayBuffer-backed tensors); the worker sends them back with
// its results, and the next step copies into those instead of allocating new ones.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

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
  readonly worker: Worker;
  /** The worker replies here, so the main thread can poll instead of waiting for its event loop. */
  private readonly replies: MessagePort;

  /** A worker running `script` with `workerData` plus its reply port and `spinMs` (see grad-worker.mjs). */
  constructor(script: URL, workerData: Record<string, unknown>, spinMs: number) {
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    this.worker = new Worker(script, { workerData: { ...workerData, replies: port2, spinMs }, transferList: [port2] });
    port1.on('message', (m: WorkerReply) => this.settle(m));
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('error', reject);
      this.worker.once('message', (m: { ready?: boolean }) => m.ready && resolve());
    });
  }

  /** Whether a step is still out. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Take a reply that has arrived, without waiting for the event loop. */
  poll(): void {
    const m = receiveMessageOnPort(this.replies);
    if (m) this.settle(m.message as WorkerReply);
  }

  private settle(m: WorkerReply): void {
    for (const [name, data] of Object.entries(m.spare ?? {})) this.spare.set(name, data);
    this.pending.get(m.id)?.(m);
    this.pending.delete(m.id);
  }

  async terminate(): Promise<void> {
    this.replies.close();
    await this.worker.terminate();
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
