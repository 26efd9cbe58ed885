// MatMul (numpy semantics, rank >= 2) and Gemm (2-D, optional transposes).
import type { Shape } from '../ir.js';
import { defineOp } from '../registry.js';
import { broadcastShapes } from '../shape.js';
import { Tensor } from '../tensor-core.js';
import { unbroadcast } from './common.js';

function lastTwoSwapped(r: number): number[] {
  const p = Array.from({ length: r }, (_, i) => i);
  [p[r - 1], p[r - 2]] = [p[r - 2]!, p[r - 1]!];
  return p;
}

function checkInner(k1: unknown, k2: unknown, a: Shape, b: Shape) {
  if (k1 !== k2) throw new Error(`inner dimensions differ: [${a.join(', ')}] x [${b.join(', ')}]`);
}

defineOp('MatMul', {
  infer: ([a, b]) => {
    if (a!.shape.length < 2 || b!.shape.length < 2) throw new Error('MatMul needs rank >= 2 operands');
    const ra = a!.shape.length, rb = b!.shape.length;
    checkInner(a!.shape[ra - 1], b!.shape[rb - 2], a!.shape, b!.shape);
    const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    return [{ dtype: 'float32', shape: [...batch, a!.shape[ra - 2]!, b!.shape[rb - 1]!] }];
  },
  vjp: ({ inputs: [a, b] }, [d], needs) => {
    const da = needs[0] ? unbroadcast(d!.matmul(b!.transpose(lastTwoSwapped(b!.rank))), a!.shape) : undefined;
    let db: Tensor | undefined;
    if (needs[1]) {
      if (b!.rank === 2 && a!.rank > 2) {
        // A shared weight: fold the batch axes into one GEMM instead of a batched product + sum.
        const k = a!.dim(-1), m = b!.dim(-1);
        db = a!.reshape([-1, k]).gemm(d!.reshape([-1, m]), undefined, { transA: 1 });
      } else {
        db = unbroadcast(a!.transpose(lastTwoSwapped(a!.rank)).matmul(d!), b!.shape);
      }
    }
    return [da, db];
  },
});

defineOp('Gemm', {
  infer: ([a, b, c], attrs) => {
    if (a!.shape.length !== 2 || b!.shape.length !== 2) throw new Error('Gemm needs 2-D operands');
    const [m, k1] = attrs.transA ? [a!.shape[1]!, a!.shape[0]!] : [a!.shape[0]!, a!.shape[1]!];
    const [k2, n] = attrs.transB ? [b!.shape[1]!, b!.shape[0]!] : [b!.shape[0]!, b!.shape[1]!];
    checkInner(k1, k2, a!.shape, b!.shape);
    const shape: Shape = [m, n];
    if (c) broadcastShapes(shape, c.shape);
    return [{ dtype: 'float32', shape }];
  },
  vjp: ({ inputs: [a, b, c], attrs }, [d], needs) => {
    const tA = attrs.transA ? 1 : 0, tB = attrs.transB ? 1 : 0;
    let da: Tensor | undefined, db: Tensor | undefined;
    if (needs[0]) da = tA ? b!.gemm(d!, undefined, { transA: tB, transB: 1 }) : d!.gemm(b!, undefined, { transB: tB ? 0 : 1 });
    if (needs[1]) db = tB ? d!.gemm(a!, undefined, { transA: 1, transB: tA }) : a!.gemm(d!, undefined, { transA: tA ? 0 : 1 });
    const dc = c && needs[2] ? unbroadcast(d!, c.shape) : undefined;
    return [da, db, dc];
  },
});
