// Layers with PyTorch's constructor arguments, defaults and default initialisation.
import { formatShape } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { fanInBound, normal, uniform } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

type IntOrPair = number | [number, number];
const pair = (x: IntOrPair): [number, number] => (Array.isArray(x) ? x : [x, x]);
const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

// ---------------- containers ----------------

export class Sequential extends Module {
  [index: string]: any;
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => (this[String(i)] = m));
  }
  get length(): number {
    return this.namedChildren().length;
  }
  at(i: number): Module {
    return this.namedChildren()[i < 0 ? this.length + i : i]![1];
  }
  forward(x: Tensor): Tensor {
    for (const [, m] of this.namedChildren()) x = m.call(x);
    return x;
  }
}

export class ModuleList extends Module {
  [index: string]: any;
  constructor(modules: Module[] = []) {
    super();
    modules.forEach((m, i) => (this[String(i)] = m));
  }
  get length(): number {
    return this.namedChildren().length;
  }
  at(i: number): Module {
    return this.namedChildren()[i]![1];
  }
  forward(): never {
    throw new Error('ModuleList has no forward; index its modules');
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

// ---------------- linear ----------------

export class Linear extends Module {
  weight: Parameter;
  bias?: Parameter;
  constructor(
    readonly in_features: number,
    readonly out_features: number,
    bias = true,
  ) {
    super();
    const b = fanInBound(in_features);
    this.weight = new Parameter(uniform(in_features * out_features, b), [out_features, in_features]);
    if (bias) this.bias = new Parameter(uniform(out_features, b), [out_features]);
  }
  forward(x: Tensor): Tensor {
    const last = x.dim(-1);
    if (last !== this.in_features) throw new Error(`expected input with ${this.in_features} features, got ${formatShape(x.shape)}`);
    const w = this.param(x.g, this.weight);
    const b = this.bias ? this.param(x.g, this.bias) : undefined;
    if (x.rank === 2) return x.gemm(w, b, { transB: 1 });
    const y = x.matmul(w.transpose([1, 0]));
    return b ? y.add(b) : y;
  }
}

// ---------------- convolution ----------------

interface ConvOptions {
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  groups?: number;
  bias?: boolean;
}

function spatial(x: number | number[] | undefined, n: number, dflt: number): number[] {
  if (x === undefined) return new Array(n).fill(dflt);
  return Array.isArray(x) ? x : new Array(n).fill(x);
}

abstract class ConvNd extends Module {
  weight: Parameter;
  bias?: Parameter;
  readonly kernel_size: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly groups: number;
  constructor(
    readonly in_channels: number,
    readonly out_channels: number,
    kernel: number | number[],
    n: number,
    opts: ConvOptions,
    transposed: boolean,
  ) {
    super();
    this.kernel_size = spatial(kernel, n, 1);
    this.stride = spatial(opts.stride, n, 1);
    this.padding = spatial(opts.padding, n, 0);
    this.dilation = spatial(opts.dilation, n, 1);
    this.groups = opts.groups ?? 1;
    if (in_channels % this.groups || out_channels % this.groups) throw new Error(`channels ${in_channels}->${out_channels} not divisible by groups ${this.groups}`);
    const shape = transposed
      ? [in_channels, out_channels / this.groups, ...this.kernel_size]
      : [out_channels, in_channels / this.groups, ...this.kernel_size];
    const bound = fanInBound(shape[1]! * prod(this.kernel_size));
    this.weight = new Parameter(uniform(prod(shape), bound), shape);
    if (opts.bias ?? true) this.bias = new Parameter(uniform(out_channels, bound), [out_channels]);
  }
  protected operands(x: Tensor) {
    const w = this.param(x.g, this.weight);
    const b = this.bias ? this.param(x.g, this.bias) : undefined;
    const attrs = { strides: this.stride, pads: [...this.padding, ...this.padding], dilations: this.dilation, group: this.groups };
    return { w, b, attrs };
  }
}

export class Conv1d extends ConvNd {
  constructor(in_channels: number, out_channels: number, kernel_size: number, opts: ConvOptions = {}) {
    super(in_channels, out_channels, kernel_size, 1, opts, false);
  }
  forward(x: Tensor): Tensor {
    const { w, b, attrs } = this.operands(x);
    return x.conv(w, b, attrs);
  }
}

export class Conv2d extends ConvNd {
  constructor(in_channels: number, out_channels: number, kernel_size: IntOrPair, opts: ConvOptions = {}) {
    super(in_channels, out_channels, pair(kernel_size), 2, opts, false);
  }
  forward(x: Tensor): Tensor {
    const { w, b, attrs } = this.operands(x);
    return x.conv(w, b, attrs);
  }
}

export class ConvTranspose2d extends ConvNd {
  readonly output_padding: number[];
  constructor(in_channels: number, out_channels: number, kernel_size: IntOrPair, opts: ConvOptions & { output_padding?: number | number[] } = {}) {
    super(in_channels, out_channels, pair(kernel_size), 2, opts, true);
    this.output_padding = spatial(opts.output_padding, 2, 0);
  }
  forward(x: Tensor): Tensor {
    const { w, b, attrs } = this.operands(x);
    return x.convTranspose(w, b, { ...attrs, output_padding: this.output_padding });
  }
}

// ---------------- pooling ----------------

export class MaxPool2d extends Module {
  constructor(
    readonly kernel_size: IntOrPair,
    readonly stride?: IntOrPair,
    readonly padding: IntOrPair = 0,
    readonly dilation: IntOrPair = 1,
    readonly ceil_mode = false,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    const p = pair(this.padding);
    return x.maxPool(pair(this.kernel_size), pair(this.stride ?? this.kernel_size), [...p, ...p], pair(this.dilation), this.ceil_mode ? 1 : 0);
  }
}

export class AvgPool2d extends Module {
  constructor(
    readonly kernel_size: IntOrPair,
    readonly stride?: IntOrPair,
    readonly padding: IntOrPair = 0,
    readonly ceil_mode = false,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    const p = pair(this.padding);
    return x.avgPool(pair(this.kernel_size), pair(this.stride ?? this.kernel_size), [...p, ...p], this.ceil_mode ? 1 : 0);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly output_size: number | [number, number] = 1) {
    super();
    if (pair(output_size).some((s) => s !== 1)) throw new Error('AdaptiveAvgPool2d supports output_size 1');
  }
  forward(x: Tensor): Tensor {
    return x.globalAvgPool();
  }
}

// ---------------- shape ----------------

export class Flatten extends Module {
  constructor(
    readonly start_dim = 1,
    readonly end_dim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    const end = this.end_dim < 0 ? this.end_dim + x.rank : this.end_dim;
    if (end === x.rank - 1) return x.flatten(this.start_dim);
    const merged = x.shape.slice(this.start_dim, end + 1).reduce<number>((a, d) => a * (d as number), 1);
    return x.reshape([...x.shape.slice(0, this.start_dim), merged, ...x.shape.slice(end + 1)]);
  }
}

export class Unflatten extends Module {
  constructor(
    readonly dim: number,
    readonly unflattened_size: number[],
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + x.rank : this.dim;
    if (x.shape[d] !== prod(this.unflattened_size)) throw new Error(`cannot unflatten dim ${d} of ${formatShape(x.shape)} into [${this.unflattened_size}]`);
    return x.reshape([...x.shape.slice(0, d), ...this.unflattened_size, ...x.shape.slice(d + 1)]);
  }
}

// ---------------- activations ----------------

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}
export class LeakyReLU extends Module {
  constructor(readonly negative_slope = 0.01) { super(); }
  forward(x: Tensor): Tensor { return x.leakyRelu(this.negative_slope); }
}
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}
export class GELU extends Module {
  forward(x: Tensor): Tensor { return x.gelu(); }
}
export class Softplus extends Module {
  forward(x: Tensor): Tensor { return x.softplus(); }
}

// ---------------- regularisation and lookup ----------------

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p >= 1) throw new Error(`dropout probability must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = this.ctx(x.g).random(x.shape, 'uniform').greater(this.p);
    return Tensor.where(keep, x.mul(1 / (1 - this.p)), 0);
  }
}

export class Embedding extends Module {
  weight: Parameter;
  constructor(
    readonly num_embeddings: number,
    readonly embedding_dim: number,
  ) {
    super();
    this.weight = new Parameter(normal(num_embeddings * embedding_dim), [num_embeddings, embedding_dim]);
  }
  forward(idx: Tensor): Tensor {
    if (idx.dtype !== 'int64') throw new Error(`Embedding expects int64 indices, got ${idx.dtype}`);
    return this.param(idx.g, this.weight).gather(idx, 0);
  }
}
