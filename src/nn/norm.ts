// BatchNorm (running statistics updated by the training graph) and LayerNorm, composed from
// primitives so autodiff needs no rules of their own.
import { formatShape } from '../graph/ir.js';
import type { Tensor } from '../graph/tensor.js';
import { Module } from './module.js';
import { Buffer, Parameter } from './parameter.js';

abstract class BatchNormNd extends Module {
  weight?: Parameter;
  bias?: Parameter;
  running_mean: Buffer;
  running_var: Buffer;
  num_batches_tracked: Buffer;
  constructor(
    readonly num_features: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
    affine = true,
  ) {
    super();
    if (affine) {
      this.weight = new Parameter(new Float32Array(num_features).fill(1), [num_features]);
      this.bias = new Parameter(new Float32Array(num_features), [num_features]);
    }
    this.running_mean = new Buffer(new Float32Array(num_features), [num_features]);
    this.running_var = new Buffer(new Float32Array(num_features).fill(1), [num_features]);
    this.num_batches_tracked = new Buffer(new BigInt64Array(1), [], 'int64');
  }
  protected abstract ranks: number[];
  forward(x: Tensor): Tensor {
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.num_features)
      throw new Error(`expected ${this.ranks.join(' or ')}-D input with ${this.num_features} channels, got ${formatShape(x.shape)}`);
    const ctx = this.ctx(x.g);
    const axes = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)];
    const bshape = x.shape.map((_, i) => (i === 1 ? this.num_features : 1));
    let y: Tensor;
    if (this.training) {
      const mean = x.mean(axes, true);
      const centered = x.sub(mean);
      const variance = centered.square().mean(axes, true);
      y = centered.div(variance.add(this.eps).sqrt());
      // Running statistics use the unbiased variance, as PyTorch does.
      const n = x.sizeAsFloat().div(this.num_features);
      const unbiased = variance.reshape([this.num_features]).mul(n.div(n.sub(1)));
      const m = this.momentum;
      ctx.updateBuffer(this.running_mean, ctx.buffer(this.running_mean).mul(1 - m).add(mean.reshape([this.num_features]).mul(m)));
      ctx.updateBuffer(this.running_var, ctx.buffer(this.running_var).mul(1 - m).add(unbiased.mul(m)));
      ctx.updateBuffer(this.num_batches_tracked, ctx.buffer(this.num_batches_tracked).add(x.scalar(1, 'int64')));
    } else {
      const rm = ctx.buffer(this.running_mean).reshape(bshape);
      const rv = ctx.buffer(this.running_var).reshape(bshape);
      y = x.sub(rm).div(rv.add(this.eps).sqrt());
    }
    if (this.weight && this.bias) y = y.mul(this.param(x.g, this.weight).reshape(bshape)).add(this.param(x.g, this.bias).reshape(bshape));
    return y;
  }
}

export class BatchNorm1d extends BatchNormNd {
  protected ranks = [2, 3];
}
export class BatchNorm2d extends BatchNormNd {
  protected ranks = [4];
}

export class LayerNorm extends Module {
  weight?: Parameter;
  bias?: Parameter;
  readonly normalized_shape: number[];
  constructor(
    normalized_shape: number | number[],
    readonly eps = 1e-5,
    elementwise_affine = true,
  ) {
    super();
    this.normalized_shape = Array.isArray(normalized_shape) ? normalized_shape : [normalized_shape];
    const n = this.normalized_shape.reduce((a, b) => a * b, 1);
    if (elementwise_affine) {
      this.weight = new Parameter(new Float32Array(n).fill(1), this.normalized_shape);
      this.bias = new Parameter(new Float32Array(n), this.normalized_shape);
    }
  }
  forward(x: Tensor): Tensor {
    const k = this.normalized_shape.length;
    if (x.shape.slice(-k).join(',') !== this.normalized_shape.join(','))
      throw new Error(`expected trailing shape [${this.normalized_shape}], got ${formatShape(x.shape)}`);
    const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
    const centered = x.sub(x.mean(axes, true));
    let y = centered.div(centered.square().mean(axes, true).add(this.eps).sqrt());
    if (this.weight && this.bias) y = y.mul(this.param(x.g, this.weight)).add(this.param(x.g, this.bias));
    return y;
  }
}
