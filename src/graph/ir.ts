// The graph IR: values with dtype + (partly symbolic) shape, nodes that carry ONNX op types
// directly. A Graph is also the builder: `apply` runs the op's shape rule at build time.
import { getOp } from './registry.js';

export type DType = 'float32' | 'int64' | 'int32' | 'bool';
/** A dimension is a number, or a string naming a symbolic size (the batch, 'N'). */
export type Dim = number | string;
export type Shape = Dim[];

export interface TensorData {
  dtype: DType;
  dims: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export type AttrValue = number | number[] | string | TensorData;
export type Attrs = Record<string, AttrValue>;

export interface Value {
  readonly id: number;
  name: string;
  dtype: DType;
  shape: Shape;
  producer?: Node;
  /** Set for initializers: shape rules read constant shape/axes inputs from here. */
  const?: TensorData;
}

export interface Node {
  op: string;
  inputs: Value[];
  outputs: Value[];
  attrs: Attrs;
  /** Module path that created the node, for error messages and profiling. */
  scope: string;
}

/** Raised while a model is built; names the module path and the shapes involved. */
export class ShapeError extends Error {
  constructor(scope: string, op: string, message: string) {
    super(`${scope || '<root>'}: ${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

export function formatShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

export function isStatic(s: Shape): s is number[] {
  return s.every((d) => typeof d === 'number');
}

export function staticSize(s: Shape): number {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') throw new Error(`shape ${formatShape(s)} is not static`);
    n *= d;
  }
  return n;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  outputs: Value[] = [];
  readonly initializers = new Map<Value, TensorData>();
  private nextId = 0;
  private scopes: string[] = [];
  private usedNames = new Set<string>();
  private scalarCache = new Map<string, Value>();

  get scope(): string {
    return this.scopes[this.scopes.length - 1] ?? '';
  }

  withScope<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  newValue(dtype: DType, shape: Shape, hint = 'v'): Value {
    return { id: this.nextId++, name: this.uniqueName(`${hint}${this.nextId}`), dtype, shape };
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    const v: Value = { id: this.nextId++, name: this.uniqueName(name), dtype, shape };
    this.inputs.push(v);
    return v;
  }

  initializer(name: string, data: TensorData): Value {
    const v: Value = { id: this.nextId++, name: this.uniqueName(name), dtype: data.dtype, shape: [...data.dims], const: data };
    this.initializers.set(v, data);
    return v;
  }

  /** A constant tensor; scalars and small int vectors are deduplicated. */
  constant(data: TensorData, hint = 'const'): Value {
    const small = data.data.length <= 16;
    const key = small ? `${data.dtype}|${data.dims.join(',')}|${Array.from(data.data as ArrayLike<number | bigint>).join(',')}` : '';
    if (small) {
      const hit = this.scalarCache.get(key);
      if (hit) return hit;
    }
    const v = this.initializer(hint, data);
    if (small) this.scalarCache.set(key, v);
    return v;
  }

  /** Add a node after running its shape rule; returns its outputs. */
  apply(op: string, inputs: Value[], attrs: Attrs = {}): Value[] {
    const def = getOp(op);
    let types: { dtype: DType; shape: Shape }[];
    try {
      types = def.infer(inputs, attrs);
    } catch (e) {
      if (e instanceof ShapeError) throw e;
      const shapes = inputs.map((v) => formatShape(v.shape)).join(' and ');
      throw new ShapeError(this.scope, op, `${(e as Error).message} (input shapes ${shapes})`);
    }
    const node: Node = { op, inputs, outputs: [], attrs, scope: this.scope };
    node.outputs = types.map((t) => {
      const v = this.newValue(t.dtype, t.shape, op.toLowerCase());
      v.producer = node;
      return v;
    });
    this.nodes.push(node);
    return node.outputs;
  }
}

/** The nodes that `targets` depend on, in graph (topological) order: dead-code elimination for emission, the backward pass's reachable set for autodiff. */
export function nodesFeeding(g: Graph, targets: readonly Value[]): Node[] {
  const needed = new Set<Value>(targets);
  const keep: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((v) => needed.has(v))) {
      keep.push(n);
      n.inputs.forEach((v) => needed.add(v));
    }
  }
  return keep.reverse();
}
