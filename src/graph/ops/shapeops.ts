// Shape ops: Reshape Flatten Transpose Squeeze Unsqueeze Concat Slice Split Expand Gather Pad,
// plus shape queries (Shape Size ConstantOfShape) that have no gradient.
import type { Dim, Shape, TensorData, Value } from '../ir.js';
import { isStatic, formatShape } from '../ir.js';
import { defineOp } from '../registry.js';
import { broadcastShapes, dimMul, normAxis } from '../shape.js';
import { Tensor } from '../tensor-core.js';
import { constInts, reshapeLike, unbroadcast } from './common.js';

const same = (v: Value) => [{ dtype: v.dtype, shape: v.shape }];

function product(dims: Dim[]): Dim {
  return dims.reduce<Dim>((a, b) => dimMul(a, b), 1);
}

export function reshapeShape(inShape: Shape, spec: number[]): Shape {
  const out: Dim[] = spec.map((s, i) => (s === 0 ? inShape[i]! : s));
  const free = out.indexOf(-1);
  if (free >= 0) {
    const known = out.filter((_, i) => i !== free);
    const staticIn = inShape.filter((d) => typeof d === 'number') as number[];
    const symIn = inShape.filter((d) => typeof d !== 'number');
    const symKnown = known.filter((d) => typeof d !== 'number');
    const inStatic = staticIn.reduce((a, b) => a * b, 1);
    const knownStatic = (known.filter((d) => typeof d === 'number') as number[]).reduce((a, b) => a * b, 1);
    if (inStatic % knownStatic !== 0) throw new Error(`cannot reshape ${formatShape(inShape)} to [${spec.join(', ')}]`);
    const rest = inStatic / knownStatic;
    const symRest = symIn.filter((d) => !symKnown.includes(d));
    out[free] = symRest.length ? dimMul(product(symRest), rest) : rest;
  } else if (isStatic(inShape) && isStatic(out) && product(inShape) !== product(out)) {
    throw new Error(`cannot reshape ${formatShape(inShape)} to ${formatShape(out)}`);
  }
  return out;
}

/** Shape of `Shape(other)` inputs, used when gradients reshape back to a runtime shape. */
function shapeOfShapeInput(s: Value): Shape | null {
  return s.producer?.op === 'Shape' ? s.producer.inputs[0]!.shape : null;
}

defineOp('Reshape', {
  infer: ([x, s]) => [{ dtype: x!.dtype, shape: shapeOfShapeInput(s!) ?? reshapeShape(x!.shape, constInts(s, 'Reshape shape')) }],
  vjp: ({ inputs: [x] }, [d]) => [reshapeLike(d!, x!), undefined],
});

defineOp('Flatten', {
  infer: ([x], a) => {
    const ax = normAxis(a.axis as number, x!.shape.length + 1);
    return [{ dtype: x!.dtype, shape: [product(x!.shape.slice(0, ax)), product(x!.shape.slice(ax))] }];
  },
  vjp: ({ inputs: [x] }, [d]) => [reshapeLike(d!, x!)],
});

defineOp('Transpose', {
  infer: ([x], a) => [{ dtype: x!.dtype, shape: (a.perm as number[]).map((p) => x!.shape[p]!) }],
  vjp: ({ attrs }, [d]) => {
    const perm = attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [d!.transpose(inv)];
  },
});

defineOp('Squeeze', {
  infer: ([x, axes]) => {
    const ax = constInts(axes, 'Squeeze axes').map((a) => normAxis(a, x!.shape.length));
    for (const a of ax) if (x!.shape[a] !== 1) throw new Error(`cannot squeeze axis ${a} of size ${x!.shape[a]}`);
    return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !ax.includes(i)) }];
  },
  vjp: ({ inputs: [x, axes] }, [d]) => [d!.op('Unsqueeze', [axes!]), undefined],
});

defineOp('Unsqueeze', {
  infer: ([x, axes]) => {
    const r = x!.shape.length + constInts(axes, 'Unsqueeze axes').length;
    const ax = constInts(axes, 'Unsqueeze axes').map((a) => normAxis(a, r));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) out.push(ax.includes(i) ? 1 : x!.shape[j++]!);
    return [{ dtype: x!.dtype, shape: out }];
  },
  vjp: ({ inputs: [, axes] }, [d]) => [d!.op('Squeeze', [axes!]), undefined],
});

defineOp('Concat', {
  infer: (xs, a) => {
    const ax = normAxis(a.axis as number, xs[0]!.shape.length);
    const shape = [...xs[0]!.shape];
    shape[ax] = xs.map((x) => x.shape[ax]!).reduce<Dim>((p, q) => (typeof p === 'number' && typeof q === 'number' ? p + q : `${p}+${q}`), 0);
    for (const x of xs) {
      if (x.shape.length !== shape.length || x.shape.some((dd, i) => i !== ax && dd !== shape[i]))
        throw new Error(`Concat inputs ${xs.map((v) => formatShape(v.shape)).join(', ')} differ off axis ${ax}`);
    }
    return [{ dtype: xs[0]!.dtype, shape }];
  },
  vjp: ({ inputs, attrs }, [d]) => {
    const ax = normAxis(attrs.axis as number, inputs[0]!.rank);
    const sizes = inputs.map((x) => x.shape[ax]);
    if (!sizes.every((s) => typeof s === 'number')) throw new Error('Concat gradient needs static sizes on the concat axis');
    return inputs.length === 1 ? [d] : d!.split(sizes as number[], ax);
  },
});

function sliceParams(x: Value, ins: Value[]) {
  const starts = constInts(ins[0], 'Slice starts');
  const ends = constInts(ins[1], 'Slice ends');
  const axes = ins[2] ? constInts(ins[2], 'Slice axes').map((a) => normAxis(a, x.shape.length)) : starts.map((_, i) => i);
  const steps = ins[3] ? constInts(ins[3], 'Slice steps') : starts.map(() => 1);
  return { starts, ends, axes, steps };
}

/** Clamped [begin, end) of a step-1 slice on a static axis (ONNX semantics). */
function clampRange(n: number, start: number, end: number): [number, number] {
  const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
  const e = Math.min(Math.max(end < 0 ? end + n : end, 0), n);
  return [s, Math.max(e, s)];
}

defineOp('Slice', {
  infer: ([x, ...ins]) => {
    const { starts, ends, axes, steps } = sliceParams(x!, ins);
    const shape = [...x!.shape];
    axes.forEach((ax, i) => {
      const n = x!.shape[ax]!;
      if (typeof n !== 'number') {
        if (starts[i] === 0 && ends[i]! >= 2 ** 31 - 1 && steps[i] === 1) return;
        throw new Error(`cannot slice symbolic axis ${ax}`);
      }
      // Positive steps (strided patches inside gradients); the VJP below takes step 1 only.
      if (!(steps[i]! >= 1)) throw new Error('only positive slice steps are supported');
      const [s, e] = clampRange(n, starts[i]!, ends[i]!);
      shape[ax] = Math.ceil((e - s) / steps[i]!);
    });
    return [{ dtype: x!.dtype, shape }];
  },
  vjp: ({ inputs: [x, ...ins] }, [d]) => {
    const { starts, ends, axes, steps } = sliceParams(x!.v, ins.map((t) => t.v));
    if (steps.some((st) => st !== 1)) throw new Error('the Slice gradient supports step-1 slices only');
    const pads = new Array(x!.rank * 2).fill(0) as number[];
    axes.forEach((ax, i) => {
      const n = x!.shape[ax];
      if (typeof n !== 'number') return;
      const [s, e] = clampRange(n, starts[i]!, ends[i]!);
      pads[ax] = s;
      pads[ax + x!.rank] = n - e;
    });
    return [d!.op('Pad', [d!.ints(pads)]), ...ins.map(() => undefined)];
  },
});

defineOp('Pad', {
  infer: ([x, p]) => {
    const pads = constInts(p, 'Pad pads');
    const r = x!.shape.length;
    return [{ dtype: x!.dtype, shape: x!.shape.map((d, i) => (pads[i] === 0 && pads[i + r] === 0 ? d : (d as number) + pads[i]! + pads[i + r]!)) }];
  },
  vjp: ({ inputs: [x, p] }, [d]) => {
    const pads = constInts(p!.v, 'Pad pads');
    const r = x!.rank;
    const axes = x!.shape.map((_, i) => i).filter((i) => pads[i] !== 0 || pads[i + r] !== 0);
    return [d!.slice(axes.map((i) => pads[i]!), axes.map((i) => pads[i]! + (x!.shape[i] as number)), axes), undefined];
  },
});

defineOp('Split', {
  infer: ([x, s], a) => {
    const ax = normAxis(a.axis as number, x!.shape.length);
    const sizes = constInts(s, 'Split sizes');
    const total = sizes.reduce((p, q) => p + q, 0);
    if (x!.shape[ax] !== total) throw new Error(`split sizes [${sizes.join(', ')}] do not add up to ${x!.shape[ax]}`);
    return sizes.map((n) => {
      const shape = [...x!.shape];
      shape[ax] = n;
      return { dtype: x!.dtype, shape };
    });
  },
  vjp: ({ outputs, attrs }, dOuts) => {
    const parts = dOuts.map((d, i) => d ?? outputs[i]!.zerosLike());
    return [Tensor.concat(parts, attrs.axis as number), undefined];
  },
});

defineOp('Expand', {
  infer: ([x, s]) => {
    if (!s!.const) {
      // Expand to Shape(other): the result has the other tensor's (possibly symbolic) shape.
      const src = shapeOfShapeInput(s!);
      if (!src) throw new Error('Expand needs a constant or Shape(x) target');
      return [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, src) }];
    }
    return [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, constInts(s, 'Expand shape')) }];
  },
  vjp: ({ inputs: [x] }, [d]) => [unbroadcast(d!, x!.shape), undefined],
});

defineOp('Gather', {
  infer: ([x, idx], a) => {
    const ax = normAxis(a.axis as number, x!.shape.length);
    return [{ dtype: x!.dtype, shape: [...x!.shape.slice(0, ax), ...idx!.shape, ...x!.shape.slice(ax + 1)] }];
  },
  vjp: ({ inputs: [x, idx], attrs }, [d]) => {
    if (normAxis(attrs.axis as number, x!.rank) !== 0) throw new Error('Gather gradient supports axis 0');
    if (!isStatic(x!.shape)) throw new Error('Gather gradient needs a static table shape');
    const zeros = x!.ints(x!.shape as number[]).op('ConstantOfShape', [], { value: { dtype: 'float32', dims: [1], data: Float32Array.of(0) } as TensorData });
    return [zeros.op('ScatterND', [idx!.unsqueeze([-1]), d!], { reduction: 'add' }), undefined];
  },
});

defineOp('Identity', { infer: ([x]) => same(x!), vjp: (_c, [d]) => [d] });
defineOp('Shape', { infer: ([x]) => [{ dtype: 'int64', shape: [x!.shape.length] }] });
defineOp('Size', { infer: () => [{ dtype: 'int64', shape: [] }] });
defineOp('ConstantOfShape', {
  infer: ([s], a) => {
    const dtype = (a.value as TensorData).dtype;
    if (s!.const) return [{ dtype, shape: constInts(s, 'shape') }];
    const src = shapeOfShapeInput(s!);
    if (!src) throw new Error('ConstantOfShape needs a constant or Shape(x) input');
    return [{ dtype, shape: src }];
  },
});
defineOp('ScatterElements', { infer: ([x]) => same(x!) });
defineOp('ScatterND', { infer: ([x]) => same(x!) });
