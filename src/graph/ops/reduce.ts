// Reductions. ReduceSum takes axes as an input (opset 13+); ReduceMean/ReduceMax as an
// attribute (opset 17). The IR keeps ONNX's form, so Tensor.reduce builds each accordingly.
import type { Attrs, Value } from '../ir.js';
import { defineOp } from '../registry.js';
import { Tensor } from '../tensor-core.js';
import { constInts } from './common.js';

function reducedShape(x: Value, axes: number[], keep: boolean) {
  return x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
}

function axesOf(inputs: Value[], attrs: Attrs, viaInput: boolean): number[] {
  return viaInput ? constInts(inputs[1], 'reduce axes') : (attrs.axes as number[]);
}

/** Cotangent d of the reduced output, broadcast back to x's shape (without scaling). */
function spread(x: Tensor, d: Tensor, axes: number[], keep: boolean): Tensor {
  return (keep ? d : d.unsqueeze(axes)).expand(x.shapeOf());
}

/** Number of elements each output element reduced over (dynamic if a reduced axis is symbolic). */
function countOf(x: Tensor, y: Tensor, axes: number[]): Tensor | number {
  const dims = axes.map((a) => x.shape[a]);
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((p, q) => p * q, 1);
  return x.sizeAsFloat().div(y.sizeAsFloat());
}

for (const [op, viaInput] of [['ReduceSum', true], ['ReduceMean', false], ['ReduceMax', false]] as const) {
  defineOp(op, {
    infer: (inputs, attrs) => [
      { dtype: inputs[0]!.dtype, shape: reducedShape(inputs[0]!, axesOf(inputs, attrs, viaInput), attrs.keepdims === 1) },
    ],
    vjp: ({ inputs, outputs: [y], attrs }, [d]) => {
      const x = inputs[0]!;
      const axes = axesOf(inputs.map((t) => t.v), attrs, viaInput);
      const keep = attrs.keepdims === 1;
      let dx: Tensor;
      if (op === 'ReduceSum') dx = spread(x, d!, axes, keep);
      else if (op === 'ReduceMean') dx = spread(x, d!, axes, keep).div(countOf(x, y!, axes));
      else {
        // Ties share the gradient equally.
        const mask = x.equal(spread(x, y!, axes, keep)).cast('float32');
        dx = spread(x, d!, axes, keep).mul(mask).div(mask.sum(axes, true));
      }
      return viaInput ? [dx, undefined] : [dx];
    },
  });
}
