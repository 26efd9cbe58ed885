// Loss functions as compositions of primitives (their gradients come from autodiff).
import { formatShape } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { Module } from '../nn/module.js';

export type Reduction = 'mean' | 'sum' | 'none';

export function reduce(t: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return t;
  return reduction === 'sum' ? t.sum() : t.mean();
}

function checkSame(input: Tensor, target: Tensor, name: string): void {
  const a = input.shape, b = target.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i] && typeof d === 'number' && typeof b[i] === 'number'))
    throw new Error(`${name}: input ${formatShape(a)} and target ${formatShape(b)} differ`);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkSame(input, target, 'mse_loss');
  return reduce(input.sub(target).square(), reduction);
}

export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkSame(input, target, 'l1_loss');
  return reduce(input.sub(target).abs(), reduction);
}

/** Binary cross-entropy on probabilities; logs clamped at -100 as in PyTorch. */
export function bceLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkSame(input, target, 'binary_cross_entropy');
  // Floor at the smallest float32 before the log: p = 0 or 1 then gives PyTorch's -100 (the
  // clip) with a zero, not NaN (0/0), gradient.
  const logP = input.max(1e-45).log().clip(-100);
  const log1mP = input.rsub(1).max(1e-45).log().clip(-100);
  return reduce(target.mul(logP).add(target.rsub(1).mul(log1mP)).neg(), reduction);
}

/** Numerically stable BCE on logits: max(x,0) - x·t + log(1 + e^{-|x|}). */
export function bceWithLogitsLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkSame(input, target, 'binary_cross_entropy_with_logits');
  return reduce(input.relu().sub(input.mul(target)).add(input.abs().neg().softplus()), reduction);
}

/** Cross-entropy on logits [N, C] with int64 class indices [N] or class probabilities [N, C]. */
export function crossEntropyLoss(logits: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  const c = logits.dim(1);
  if (typeof c !== 'number') throw new Error('cross_entropy: class dimension must be static');
  let probs = target;
  if (target.dtype === 'int64') {
    const classes = logits.ints(Array.from({ length: c }, (_, i) => i));
    probs = target.unsqueeze([1]).equal(classes).cast('float32');
  }
  return reduce(logits.logSoftmax(1).mul(probs).sum([1]).neg(), reduction);
}

/** KL(N(mu, exp(logvar)) || N(0, 1)) summed over the latent axis: one value per sample. */
export function gaussianKl(mu: Tensor, logvar: Tensor, reduction: Reduction = 'none'): Tensor {
  const kl = logvar.add(1).sub(mu.square()).sub(logvar.exp()).sum([-1]).mul(-0.5);
  return reduce(kl, reduction);
}

abstract class Loss extends Module {
  constructor(readonly reduction: Reduction = 'mean') {
    super();
  }
  abstract forward(input: Tensor, target: Tensor): Tensor;
}
export class MSELoss extends Loss {
  forward(i: Tensor, t: Tensor) { return mseLoss(i, t, this.reduction); }
}
export class L1Loss extends Loss {
  forward(i: Tensor, t: Tensor) { return l1Loss(i, t, this.reduction); }
}
export class BCELoss extends Loss {
  forward(i: Tensor, t: Tensor) { return bceLoss(i, t, this.reduction); }
}
export class BCEWithLogitsLoss extends Loss {
  forward(i: Tensor, t: Tensor) { return bceWithLogitsLoss(i, t, this.reduction); }
}
export class CrossEntropyLoss extends Loss {
  forward(i: Tensor, t: Tensor) { return crossEntropyLoss(i, t, this.reduction); }
}
