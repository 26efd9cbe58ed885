// A pool of inference executors with a shared queue and micro-batching: while every
// executor is busy, requests queue; a free executor takes the oldest request and every queued
// request of the same kind that fits in one batch, runs them as one onnxruntime call, and
// hands each caller its slice. Executors are worker threads (so the HTTP thread never blocks
// on inference) or, with workers 0, the calling thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadRun } from '../train/run-folder.js';
import { AutoencoderRunner, type InferenceOp } from '../runtime/inference.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker.js';
import { startModuleWorker } from '../util/worker.js';

export interface PoolOptions {
  /** Worker threads (default: cores − 1, at least 1, at most 4); 0 runs inference in this thread. */
  workers?: number;
  /** Most samples one onnxruntime call takes when requests are merged (default 256). */
  maxBatch?: number;
  /** Most samples waiting in the queue; beyond it submit() fails with OverloadedError (default 4096). */
  maxQueue?: number;
  /** onnxruntime intra-op threads per executor (default 1). */
  threads?: number;
  checkpoint?: 'best' | 'last';
}

export interface InferenceResult {
  codes?: Float32Array;
  recon?: Float32Array;
}

export class OverloadedError extends Error {
  readonly statusCode = 503;
  constructor(message: string) {
    super(message);
    this.name = 'OverloadedError';
  }
}

interface Job {
  op: InferenceOp;
  data: Float32Array;
  n: number;
  resolve: (r: InferenceResult) => void;
  reject: (e: Error) => void;
}

interface Executor {
  busy: boolean;
  run(op: InferenceOp, data: Float32Array, n: number): Promise<InferenceResult>;
  close(): Promise<void>;
}

class LocalExecutor implements Executor {
  busy = false;
  constructor(private readonly runner: AutoencoderRunner) {}
  async run(op: InferenceOp, data: Float32Array, n: number): Promise<InferenceResult> {
    if (op === 'encode') return { codes: await this.runner.encode(data, n) };
    if (op === 'decode') return { recon: await this.runner.decode(data, n) };
    return this.runner.forward(data, n);
  }
  close(): Promise<void> {
    return this.runner.release();
  }
}

/** Start the worker script (compiled, or from the TypeScript sources under tsx). */
function startWorker(init: WorkerInit): Worker {
  return startModuleWorker(new URL('./worker', import.meta.url), import.meta.url.endsWith('.ts'), init);
}

class WorkerExecutor implements Executor {
  busy = false;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: InferenceResult) => void; reject: (e: Error) => void }>();
  private dead?: Error;
  private closing = false;

  private constructor(private readonly worker: Worker, readonly info: { inputShape: number[]; codeShape: number[] }) {
    worker.on('message', (m: WorkerReply) => {
      if (m.type !== 'done' && m.type !== 'failed') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'done') p.resolve({ codes: m.codes, recon: m.recon });
      else p.reject(new Error(m.message));
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', (e) => fail(new Error(`inference worker crashed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.closing) fail(new Error(`inference worker exited (code ${code})`));
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  static start(init: WorkerInit): Promise<WorkerExecutor> {
    const worker = startWorker(init);
    return new Promise((resolve, reject) => {
      const onMsg = (m: WorkerReply) => {
        if (m.type === 'ready') {
          cleanup();
          resolve(new WorkerExecutor(worker, m));
        } else if (m.type === 'init-failed') {
          cleanup();
          void worker.terminate();
          reject(new Error(m.message));
        }
      };
      const onErr = (e: Error) => {
        cleanup();
        reject(new Error(`inference worker failed to start: ${e.message}`));
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`inference worker exited during start (code ${code})`));
      };
      const cleanup = () => {
        worker.off('message', onMsg);
        worker.off('error', onErr);
        worker.off('exit', onExit);
      };
      worker.on('message', onMsg);
      worker.on('error', onErr);
      worker.on('exit', onExit);
    });
  }

  run(op: InferenceOp, data: Float32Array, n: number): Promise<InferenceResult> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, data, n } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

export interface PoolStats {
  executors: number;
  busy: number;
  queuedRequests: number;
  queuedSamples: number;
  batches: number;
  samples: number;
  requests: number;
  restarts: number;
}

export class InferencePool {
  readonly inputSize: number;
  readonly codeSize: number;
  private readonly queue: Job[] = [];
  private queuedSamples = 0;
  private closed = false;
  private readonly counters = { batches: 0, samples: 0, requests: 0, restarts: 0 };
  readonly maxBatch: number;
  readonly maxQueue: number;

  private constructor(
    private readonly executors: Executor[],
    readonly inputShape: number[],
    readonly codeShape: number[],
    opts: PoolOptions,
    private readonly respawn?: () => Promise<Executor>,
  ) {
    this.inputSize = inputShape.reduce((a, b) => a * b, 1);
    this.codeSize = codeShape.reduce((a, b) => a * b, 1);
    this.maxBatch = opts.maxBatch ?? 256;
    this.maxQueue = opts.maxQueue ?? 4096;
  }

  static defaultWorkers(): number {
    return Math.max(1, Math.min(4, availableParallelism() - 1));
  }

  static async create(runDir: string, opts: PoolOptions = {}): Promise<InferencePool> {
    const workers = opts.workers ?? InferencePool.defaultWorkers();
    const checkpoint = opts.checkpoint ?? 'best';
    const maxBatch = opts.maxBatch ?? 256;
    // No layout calibration in the service: early requests would wait for it, and a server's
    // micro-batches vary in size, so one timed batch says little.
    if (workers === 0) {
      const run = loadRun(runDir, checkpoint);
      const runner = AutoencoderRunner.fromRun(run, { threads: opts.threads, batchSize: maxBatch, calibrateLayout: false });
      return new InferencePool([new LocalExecutor(runner)], runner.inputShape, runner.codeShape, opts);
    }
    const init: WorkerInit = { runDir, checkpoint, threads: opts.threads ?? 1, batchSize: maxBatch };
    // Fail early and clearly on a bad run folder, before starting threads.
    loadRun(runDir, checkpoint);
    const execs = await Promise.all(Array.from({ length: workers }, () => WorkerExecutor.start(init)));
    const info = execs[0]!.info;
    return new InferencePool(execs, info.inputShape, info.codeShape, opts, () => WorkerExecutor.start(init));
  }

  /** Run `op` on n samples (inputs: n x inputSize; decode: n x codeSize). */
  submit(op: InferenceOp, data: Float32Array, n: number): Promise<InferenceResult> {
    if (this.closed) return Promise.reject(new OverloadedError('the inference pool is shutting down'));
    if (n > this.maxBatch) return Promise.reject(new Error(`a request of ${n} samples exceeds the batch limit ${this.maxBatch}`));
    if (this.queuedSamples + n > this.maxQueue) return Promise.reject(new OverloadedError(`too many samples waiting (${this.queuedSamples}); retry shortly`));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, data, n, resolve, reject });
      this.queuedSamples += n;
      this.counters.requests++;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.executors.length) {
      // Every worker died and none could be restarted: fail fast rather than hang.
      for (const j of this.queue.splice(0)) j.reject(new Error('no inference executor is running'));
      this.queuedSamples = 0;
      return;
    }
    for (const ex of this.executors) {
      if (!this.queue.length) return;
      if (ex.busy) continue;
      // The oldest job, plus later jobs of the same kind while they fit in one batch.
      const first = this.queue.shift()!;
      const jobs = [first];
      let total = first.n;
      for (let i = 0; i < this.queue.length && total < this.maxBatch; ) {
        const j = this.queue[i]!;
        if (j.op === first.op && total + j.n <= this.maxBatch) {
          jobs.push(j);
          total += j.n;
          this.queue.splice(i, 1);
        } else i++;
      }
      this.queuedSamples -= total;
      void this.execute(ex, jobs, total);
    }
  }

  private async execute(ex: Executor, jobs: Job[], total: number): Promise<void> {
    ex.busy = true;
    const op = jobs[0]!.op;
    const inSize = op === 'decode' ? this.codeSize : this.inputSize;
    let data: Float32Array;
    if (jobs.length === 1) data = jobs[0]!.data;
    else {
      data = new Float32Array(total * inSize);
      let o = 0;
      for (const j of jobs) {
        data.set(j.data.subarray(0, j.n * inSize), o);
        o += j.n * inSize;
      }
    }
    try {
      const r = await ex.run(op, data, total);
      this.counters.batches++;
      this.counters.samples += total;
      let s = 0;
      for (const j of jobs) {
        j.resolve({
          codes: r.codes?.slice(s * this.codeSize, (s + j.n) * this.codeSize),
          recon: r.recon?.slice(s * this.inputSize, (s + j.n) * this.inputSize),
        });
        s += j.n;
      }
    } catch (e) {
      for (const j of jobs) j.reject(e as Error);
      if (ex instanceof WorkerExecutor && !ex.alive && this.respawn && !this.closed) await this.replace(ex);
    } finally {
      ex.busy = false;
      this.pump();
    }
  }

  private async replace(ex: Executor): Promise<void> {
    const i = this.executors.indexOf(ex);
    ex.busy = true; // keep it out of rotation while its replacement starts
    try {
      const fresh = await this.respawn!();
      if (this.closed) return void (await fresh.close());
      this.executors[i] = fresh;
      this.counters.restarts++;
    } catch {
      // Keep serving on the remaining executors.
      this.executors.splice(i, 1);
    }
    await ex.close().catch(() => undefined);
  }

  stats(): PoolStats {
    return {
      executors: this.executors.length,
      busy: this.executors.filter((e) => e.busy).length,
      queuedRequests: this.queue.length,
      queuedSamples: this.queuedSamples,
      ...this.counters,
    };
  }

  /** Finish queued work, then stop the executors. */
  async close(): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + 10_000;
    while ((this.queue.length || this.executors.some((e) => e.busy)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await Promise.all(this.executors.map((e) => e.close()));
  }
}
