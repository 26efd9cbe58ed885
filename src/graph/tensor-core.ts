// Symbolic tensors: a Value plus the Graph it lives in. Module.forward and every VJP rule
// are written with these methods, so forward and backward share one builder. The op modules
// import this file; everything else imports ./tensor.js, which also registers the ops.
import type { Attrs, DType, Dim, Graph, Shape, TensorData, Value } from './ir.js';
import { normAxis } from './shape.js';

export type TensorLike = Tensor | number;

export function scalarData(x: number, dtype: DType = 'float32'): TensorData {
  return dtype === 'int64'
    ? { dtype, dims: [], data: BigInt64Array.of(BigInt(x)) }
    : { dtype: 'float32', dims: [], data: Float32Array.of(x) };
}

export function int64Data(values: number[]): TensorData {
  return { dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) };
}

export class Tensor {
  constructor(
    readonly g: Graph,
    readonly v: Value,
  ) {}

  get shape(): Shape {
    return this.v.shape;
  }
  get dtype(): DType {
    return this.v.dtype;
  }
  get rank(): number {
    return this.v.shape.length;
  }
  dim(i: number): Dim {
    return this.v.shape[normAxis(i, this.rank)]!;
  }

  // ---- construction helpers ----
  static apply(g: Graph, op: string, inputs: Tensor[], attrs: Attrs = {}): Tensor[] {
    return g.apply(op, inputs.map((t) => t.v), attrs).map((v) => new Tensor(g, v));
  }
  op(op: string, others: TensorLike[] = [], attrs: Attrs = {}): Tensor {
    return Tensor.apply(this.g, op, [this, ...others.map((o) => this.lift(o))], attrs)[0]!;
  }
  lift(x: TensorLike): Tensor {
    return typeof x === 'number' ? this.scalar(x) : x;
  }
  scalar(x: number, dtype: DType = 'float32'): Tensor {
    return new Tensor(this.g, this.g.constant(scalarData(x, dtype)));
  }
  ints(values: number[]): Tensor {
    return new Tensor(this.g, this.g.constant(int64Data(values), 'ints'));
  }
  constant(data: TensorData, hint?: string): Tensor {
    return new Tensor(this.g, this.g.constant(data, hint));
  }

  // ---- elementwise arithmetic (numpy broadcasting) ----
  add(o: TensorLike): Tensor { return this.op('Add', [o]); }
  sub(o: TensorLike): Tensor { return this.op('Sub', [o]); }
  mul(o: TensorLike): Tensor { return this.op('Mul', [o]); }
  div(o: TensorLike): Tensor { return this.op('Div', [o]); }
  rsub(x: number): Tensor { return this.scalar(x).sub(this); }
  pow(o: TensorLike): Tensor { return this.op('Pow', [o]); }
  neg(): Tensor { return this.op('Neg'); }
  sqrt(): Tensor { return this.op('Sqrt'); }
  exp(): Tensor { return this.op('Exp'); }
  log(): Tensor { return this.op('Log'); }
  abs(): Tensor { return this.op('Abs'); }
  erf(): Tensor { return this.op('Erf'); }
  sign(): Tensor { return this.op('Sign'); }
  square(): Tensor { return this.mul(this); }
  clip(min?: number, max?: number): Tensor {
    const lo = min === undefined ? this.scalar(-3.4e38) : this.scalar(min);
    const hi = max === undefined ? this.scalar(3.4e38) : this.scalar(max);
    return this.op('Clip', [lo, hi]);
  }
  max(o: TensorLike): Tensor { return this.op('Max', [o]); }
  min(o: TensorLike): Tensor { return this.op('Min', [o]); }

  // ---- activations ----
  relu(): Tensor { return this.op('Relu'); }
  leakyRelu(alpha = 0.01): Tensor { return this.op('LeakyRelu', [], { alpha }); }
  sigmoid(): Tensor { return this.op('Sigmoid'); }
  tanh(): Tensor { return this.op('Tanh'); }
  softplus(): Tensor { return this.op('Softplus'); }
  /** Exact GELU, 0.5·x·(1 + erf(x/√2)) (ONNX Gelu needs opset 20). */
  gelu(): Tensor { return this.mul(0.5).mul(this.mul(Math.SQRT1_2).erf().add(1)); }
  softmax(axis = -1): Tensor { return this.op('Softmax', [], { axis }); }
  logSoftmax(axis = -1): Tensor { return this.op('LogSoftmax', [], { axis }); }

  // ---- linear algebra ----
  matmul(o: Tensor): Tensor { return this.op('MatMul', [o]); }
  /** Y = A·op(B) + C, ONNX Gemm on 2-D tensors. */
  gemm(b: Tensor, c?: Tensor, opts: { transA?: number; transB?: number } = {}): Tensor {
    return this.op('Gemm', c ? [b, c] : [b], { transA: opts.transA ?? 0, transB: opts.transB ?? 0 });
  }

  // ---- shape ----
  /** Reshape; a symbolic dim in `shape` keeps the matching input dim (emitted as 0 or -1). */
  reshape(shape: Shape): Tensor {
    const spec = shape.map((d, i) => (typeof d === 'number' ? d : this.shape[i] === d ? 0 : -1));
    return this.op('Reshape', [this.ints(spec)]);
  }
  flatten(axis = 1): Tensor { return this.op('Flatten', [], { axis }); }
  transpose(perm: number[]): Tensor { return this.op('Transpose', [], { perm }); }
  squeeze(axes: number[]): Tensor { return this.op('Squeeze', [this.ints(axes)]); }
  unsqueeze(axes: number[]): Tensor { return this.op('Unsqueeze', [this.ints(axes)]); }
  static concat(ts: Tensor[], axis: number): Tensor {
    return Tensor.apply(ts[0]!.g, 'Concat', ts, { axis })[0]!;
  }
  slice(starts: number[], ends: number[], axes: number[], steps?: number[]): Tensor {
    const ins = [this.ints(starts), this.ints(ends), this.ints(axes)];
    if (steps) ins.push(this.ints(steps));
    return this.op('Slice', ins);
  }
  split(sizes: number[], axis: number): Tensor[] {
    return Tensor.apply(this.g, 'Split', [this, this.ints(sizes)], { axis });
  }
  expand(shape: Tensor): Tensor { return this.op('Expand', [shape]); }
  gather(indices: Tensor, axis = 0): Tensor { return this.op('Gather', [indices], { axis }); }
  shapeOf(): Tensor { return this.op('Shape'); }
  /** Number of elements as a float32 scalar (dynamic when the batch is symbolic). */
  sizeAsFloat(): Tensor { return this.op('Size').cast('float32'); }
  cast(dtype: DType): Tensor { return this.op('Cast', [], { to: dtype }); }
  zerosLike(): Tensor { return this.filledLike(0); }
  onesLike(): Tensor { return this.filledLike(1); }
  filledLike(x: number): Tensor {
    const dtype = this.dtype === 'int64' ? 'int64' : 'float32';
    const value = scalarData(x, dtype);
    return this.shapeOf().op('ConstantOfShape', [], { value: { ...value, dims: [1] } });
  }

  // ---- reductions (axes undefined = all) ----
  sum(axes?: number[], keepdims = false): Tensor { return this.reduce('ReduceSum', axes, keepdims); }
  mean(axes?: number[], keepdims = false): Tensor { return this.reduce('ReduceMean', axes, keepdims); }
  amax(axes?: number[], keepdims = false): Tensor { return this.reduce('ReduceMax', axes, keepdims); }
  private reduce(op: string, axes: number[] | undefined, keepdims: boolean): Tensor {
    const all = (axes ?? this.shape.map((_, i) => i)).map((a) => normAxis(a, this.rank));
    const keep = keepdims ? 1 : 0;
    return op === 'ReduceSum' ? this.op(op, [this.ints(all)], { keepdims: keep }) : this.op(op, [], { axes: all, keepdims: keep });
  }

  // ---- comparison and selection ----
  equal(o: TensorLike): Tensor { return this.op('Equal', [o]); }
  greater(o: TensorLike): Tensor { return this.op('Greater', [o]); }
  less(o: TensorLike): Tensor { return this.op('Less', [o]); }
  /** where(cond, this, other). */
  static where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
    const g = cond.g;
    const lift = (x: TensorLike) => (typeof x === 'number' ? cond.scalar(x) : x);
    return Tensor.apply(g, 'Where', [cond, lift(a), lift(b)])[0]!;
  }

  // ---- convolution and pooling (NCHW; attrs in ONNX form) ----
  conv(w: Tensor, b: Tensor | undefined, attrs: ConvAttrs): Tensor {
    return this.op('Conv', b ? [w, b] : [w], convAttrs(attrs, w.shape.length - 2));
  }
  convTranspose(w: Tensor, b: Tensor | undefined, attrs: ConvAttrs & { output_padding?: number[] }): Tensor {
    const a = convAttrs(attrs, w.shape.length - 2);
    a.output_padding = attrs.output_padding ?? (a.strides as number[]).map(() => 0);
    return this.op('ConvTranspose', b ? [w, b] : [w], a);
  }
  maxPool(kernel: number[], strides: number[], pads: number[], dilations?: number[], ceil = 0): Tensor {
    return this.op('MaxPool', [], { kernel_shape: kernel, strides, pads, dilations: dilations ?? kernel.map(() => 1), ceil_mode: ceil });
  }
  avgPool(kernel: number[], strides: number[], pads: number[], ceil = 0): Tensor {
    return this.op('AveragePool', [], { kernel_shape: kernel, strides, pads, count_include_pad: 1, ceil_mode: ceil });
  }
  globalAvgPool(): Tensor { return this.op('GlobalAveragePool'); }
}

export interface ConvAttrs {
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group?: number;
}

function convAttrs(a: ConvAttrs, spatial: number): Attrs {
  const ones = new Array(spatial).fill(1) as number[];
  return {
    strides: a.strides ?? ones,
    pads: a.pads ?? new Array(spatial * 2).fill(0),
    dilations: a.dilations ?? ones,
    group: a.group ?? 1,
  };
}
