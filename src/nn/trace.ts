// Binding of a module's parameters, buffers and random draws to a graph being traced.
// 'train' makes them graph inputs (they change every step); 'frozen' bakes them in as
// initializers (inference export).
import { Graph, type Shape, type Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import type { Buffer, Parameter } from './parameter.js';

export type BindMode = 'train' | 'frozen';

export interface RandomInput {
  value: Value;
  dist: 'uniform' | 'normal';
}

export class TraceContext {
  readonly params = new Map<Parameter, Value>();
  readonly buffers = new Map<Buffer, Value>();
  /** New buffer values computed by the graph (BatchNorm running statistics). */
  readonly bufferUpdates = new Map<Buffer, Value>();
  readonly randoms: RandomInput[] = [];

  constructor(
    readonly g: Graph,
    readonly mode: BindMode,
    private readonly names: Map<Parameter | Buffer, string>,
  ) {}

  private nameOf(p: Parameter | Buffer): string {
    return this.names.get(p) ?? `${p.kind}_${this.names.size}`;
  }

  param(p: Parameter): Tensor {
    let v = this.params.get(p);
    if (!v) {
      const name = this.nameOf(p);
      v = this.mode === 'train' ? this.g.input(name, 'float32', p.shape) : this.g.initializer(name, { dtype: 'float32', dims: p.shape, data: p.data });
      this.params.set(p, v);
    }
    return new Tensor(this.g, v);
  }

  buffer(b: Buffer): Tensor {
    let v = this.buffers.get(b);
    if (!v) {
      const name = this.nameOf(b);
      v = this.mode === 'train' ? this.g.input(name, b.dtype, b.shape) : this.g.initializer(name, { dtype: b.dtype, dims: b.shape, data: b.data });
      this.buffers.set(b, v);
    }
    return new Tensor(this.g, v);
  }

  updateBuffer(b: Buffer, value: Tensor): void {
    if (this.mode === 'train') this.bufferUpdates.set(b, value.v);
  }

  /** Fresh random numbers each run, drawn on the host from the run's seeded generator. */
  random(shape: Shape, dist: 'uniform' | 'normal'): Tensor {
    const v = this.g.input(`random_${dist}_${this.randoms.length}`, 'float32', shape);
    this.randoms.push({ value: v, dist });
    return new Tensor(this.g, v);
  }
}

const contexts = new WeakMap<Graph, TraceContext>();

export function setContext(g: Graph, ctx: TraceContext): void {
  contexts.set(g, ctx);
}

export function contextOf(g: Graph): TraceContext {
  const ctx = contexts.get(g);
  if (!ctx) throw new Error('this graph is not being traced from a Module (use trace())');
  return ctx;
}
