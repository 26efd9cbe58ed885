// Host-side storage of learnable parameters and buffers (float32 data + static shape).
import type { DType } from '../graph/ir.js';

export class Parameter {
  readonly kind = 'param';
  constructor(
    public data: Float32Array,
    readonly shape: number[],
    public requiresGrad = true,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`parameter data has ${data.length} values, shape [${shape}] needs ${n}`);
  }
  get size(): number {
    return this.data.length;
  }
}

export class Buffer {
  readonly kind = 'buffer';
  constructor(
    public data: Float32Array | BigInt64Array,
    readonly shape: number[],
    readonly dtype: DType = 'float32',
  ) {}
}
