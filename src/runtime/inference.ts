// Forward-only graphs of a trained autoencoder (encode, decode, encode+decode), compiled once
// and run batch by batch. Shared by embed, search, anomaly, compress and the HTTP service.
import type { Tensor } from '../graph/tensor.js';
import type { Autoencoder } from '../models/conv-autoencoder.js';
import { ForwardGraph, ParamStore } from './compile.js';
import type { LoadedRun } from '../train/run-folder.js';

export type InferenceOp = 'encode' | 'forward' | 'decode';

export interface RunnerOptions {
  /** Samples per onnxruntime call (default 500). */
  batchSize?: number;
  /** onnxruntime intra-op threads per graph (default 1). */
  threads?: number;
  /** Pick onnxruntime's conv layout by timing the first large batch (default true; see ForwardGraph). */
  calibrateLayout?: boolean;
  /** The parameters to run with, shared instead of copied from the model (e.g. a Trainer's, after training). */
  store?: ParamStore;
}

export interface ForwardOutput {
  /** n x codeSize codes, flattened per sample. */
  codes: Float32Array;
  /** n reconstructions in the input's layout. */
  recon: Float32Array;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export class AutoencoderRunner {
  readonly inputShape: number[];
  readonly inputSize: number;
  /** Per-sample code shape as the decoder takes it (e.g. [4, 1, 1]). */
  readonly codeShape: number[];
  readonly codeSize: number;
  readonly batchSize: number;
  private readonly store: ParamStore;
  private readonly graphs = new Map<InferenceOp, Promise<ForwardGraph>>();

  constructor(readonly model: Autoencoder, inputShape: readonly number[], private readonly opts: RunnerOptions = {}) {
    this.inputShape = [...inputShape];
    this.inputSize = prod(inputShape);
    this.codeShape = model.codeShape();
    this.codeSize = prod(this.codeShape);
    this.batchSize = opts.batchSize ?? 500;
    if (!(Number.isInteger(this.batchSize) && this.batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${this.batchSize}`);
    this.store = opts.store ?? new ParamStore(model);
  }

  static fromRun(run: Pick<LoadedRun, 'model' | 'inputShape'>, opts: RunnerOptions = {}): AutoencoderRunner {
    return new AutoencoderRunner(run.model, run.inputShape, opts);
  }

  private graph(op: InferenceOp): Promise<ForwardGraph> {
    let g = this.graphs.get(op);
    if (!g) {
      const session = { intraOpThreads: this.opts.threads ?? 1, withLoss: false, calibrateLayout: this.opts.calibrateLayout ?? true };
      if (op === 'decode') {
        g = ForwardGraph.create(this.model, [{ name: 'z', shape: this.codeShape }], (m, [z]) => {
          const recon = (m as Autoencoder).decode(z!);
          return { loss: recon, outputs: { recon } };
        }, this.store, session);
      } else {
        g = ForwardGraph.create(this.model, [{ name: 'x', shape: this.inputShape }], (m, [x]) => {
          const ae = m as Autoencoder;
          const z = ae.encode(x!);
          const outputs: Record<string, Tensor> = { code: z.flatten(1) };
          if (op === 'forward') outputs.recon = ae.decode(z);
          return { loss: outputs.code, outputs };
        }, this.store, session);
      }
      this.graphs.set(op, g);
    }
    return g;
  }

  /** Codes of n images (n x codeSize). */
  async encode(images: Float32Array, n: number): Promise<Float32Array> {
    return (await this.rows('encode', images, this.inputSize, n)).code ?? new Float32Array(0);
  }

  /** Codes and reconstructions of n images. */
  async forward(images: Float32Array, n: number): Promise<ForwardOutput> {
    const r = await this.rows('forward', images, this.inputSize, n);
    return { codes: r.code ?? new Float32Array(0), recon: r.recon ?? new Float32Array(0) };
  }

  /** Reconstructions of n codes (n x codeSize values, flattened per sample). */
  async decode(codes: Float32Array, n: number): Promise<Float32Array> {
    return (await this.rows('decode', codes, this.codeSize, n)).recon ?? new Float32Array(0);
  }

  private async rows(op: 'encode' | 'forward' | 'decode', input: Float32Array, rowSize: number, n: number): Promise<Record<string, Float32Array>> {
    try {
      return (await (await this.graph(op)).runRows(input, rowSize, n, this.batchSize)).outputs;
    } catch (e) {
      throw new Error(`${op}: ${(e as Error).message}`);
    }
  }

  async release(): Promise<void> {
    const gs = [...this.graphs.values()];
    this.graphs.clear();
    for (const g of gs) await (await g).release();
  }
}

/** Mean squared error of each sample (n values) between two n x size arrays. */
export function perSampleMse(a: Float32Array, b: Float32Array, n: number, size: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * size, e = j + size; j < e; j++) s += (a[j]! - b[j]!) ** 2;
    out[i] = s / size;
  }
  return out;
}
