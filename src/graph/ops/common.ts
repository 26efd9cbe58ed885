// Helpers shared by the VJP rules.
import type { Shape, Value } from '../ir.js';
import { broadcastAxes, sameShape } from '../shape.js';
import { Tensor } from '../tensor-core.js';

/** Sum a broadcast cotangent back down to the shape of the input it came from. */
export function unbroadcast(d: Tensor, target: Shape): Tensor {
  if (sameShape(d.shape, target)) return d;
  const axes = broadcastAxes(target, d.shape);
  if (axes.length === 0) return d;
  const lead = d.rank - target.length;
  let r = d.sum(axes, true);
  if (lead > 0) r = r.squeeze(Array.from({ length: lead }, (_, i) => i));
  return r;
}

/** Reshape `d` back to the (possibly symbolic) shape of `like`. */
export function reshapeLike(d: Tensor, like: Tensor): Tensor {
  return d.op('Reshape', [like.shapeOf()]);
}

export function zeroWhere(cond: Tensor, d: Tensor): Tensor {
  return Tensor.where(cond, 0, d);
}

/** Integer contents of a constant input (shape, axes, pads...), required at build time. */
export function constInts(v: { const?: { data: ArrayLike<number | bigint> }; name: string } | undefined, what: string): number[] {
  if (!v?.const) throw new Error(`${what} must be a constant known at build time`);
  return Array.from(v.const.data as ArrayLike<number | bigint>, (x) => Number(x));
}

/**
 * Cotangents known to be zero wherever the forward value they belong to is <= 0, keyed by the
 * cotangent, with that forward value. A rule that already applied a ReLU's mask (MaxPool after a
 * ReLU masks dY at its pooled resolution) records it here, and ReLU's rule then passes the
 * cotangent through instead of masking it again at full resolution. Cotangents summed by the
 * driver are new values, not recorded, so they are masked as usual.
 */
export const zeroWhereNonPositive = new WeakMap<Value, Value>();
