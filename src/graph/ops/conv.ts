// Convolution and pooling (N, C, spatial...). Gradients are themselves convolutions, so
// they stay standard ONNX (see DESIGN.md, "Gradients in standard ONNX operators").
import type { Attrs, Dim, Shape, Value } from '../ir.js';
import { formatShape } from '../ir.js';
import { defineOp } from '../registry.js';
import { Tensor } from '../tensor-core.js';
import { zeroWhereNonPositive } from './common.js';

export interface Geometry {
  k: number[];
  s: number[];
  d: number[];
  pb: number[];
  pe: number[];
  group: number;
}

export function geometry(attrs: Attrs, k: number[]): Geometry {
  const n = k.length;
  const pads = (attrs.pads as number[] | undefined) ?? new Array(2 * n).fill(0);
  return {
    k,
    s: (attrs.strides as number[] | undefined) ?? k.map(() => 1),
    d: (attrs.dilations as number[] | undefined) ?? k.map(() => 1),
    pb: pads.slice(0, n),
    pe: pads.slice(n),
    group: (attrs.group as number | undefined) ?? 1,
  };
}

function spatialOf(x: Value): number[] {
  const sp = x.shape.slice(2);
  if (!sp.every((d) => typeof d === 'number')) throw new Error(`spatial dims of ${formatShape(x.shape)} must be static`);
  return sp as number[];
}

function convOut(n: number, i: number, g: Geometry, ceil = false): number {
  const span = n + g.pb[i]! + g.pe[i]! - g.d[i]! * (g.k[i]! - 1) - 1;
  const o = (ceil ? Math.ceil(span / g.s[i]!) : Math.floor(span / g.s[i]!)) + 1;
  if (o < 1) throw new Error(`input size ${n} is too small for kernel ${g.k[i]} (dilation ${g.d[i]}, padding ${g.pb[i]}+${g.pe[i]})`);
  return o;
}

const perm01 = (r: number) => [1, 0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)];
const spatialAxes = (r: number) => Array.from({ length: r - 2 }, (_, i) => i + 2);

/**
 * Weight gradient of a convolution-like product as one Conv with batch and channels swapped:
 * dW[a, b, k] = sum_n sum_p src[n, a, p*d + k*s - pad] * kern[n, b, p]  (returned as [b?]).
 * `src` plays the zero-padded signal, `kern` the cotangent/activation acting as the kernel.
 */
export function weightGrad(src: Tensor, kern: Tensor, g: Geometry, kernel: number[]): Tensor {
  const r = src.rank;
  const out = src
    .transpose(perm01(r))
    .conv(kern.transpose(perm01(r)), undefined, { strides: g.d, dilations: g.s, pads: [...g.pb, ...g.pe] });
  const sp = spatialAxes(r);
  const needsSlice = sp.some((a, i) => out.shape[a] !== kernel[i]);
  const sliced = needsSlice ? out.slice(kernel.map(() => 0), kernel, sp) : out;
  return sliced.transpose(perm01(r)); // [kern channels, src channels, ...kernel]
}

/** The signal zero-padded by the geometry's pads (the patch forms read it unpadded). */
function padSignal(sig: Tensor, g: Geometry): Tensor {
  return [...g.pb, ...g.pe].some((p) => p !== 0) ? sig.op('Pad', [sig.ints([0, 0, ...g.pb, 0, 0, ...g.pe])]) : sig;
}

/**
 * The same weight gradient as `weightGrad`, as patch extraction + MatMul (im2col), for a signal
 * with one channel: dW[a, 0, k] = sum_n sum_p kern[n, a, p] * sig[n, 0, p*s + k*d - pad].
 * The patches are a Conv of the (padded) signal with K one-hot kernels, [N, K, P] (onnxruntime's
 * own im2col, copying whole rows of P), and the sum over n and p is one batched MatMul over n
 * with a ReduceSum. Returns [kern channels, 1, ...kernel], as `weightGrad` does.
 */
export function patchWeightGrad(sig: Tensor, kern: Tensor, g: Geometry, kernel: number[]): Tensor {
  if (sig.shape[1] !== 1) throw new Error(`patchWeightGrad takes a one-channel signal, got ${formatShape(sig.shape)}`);
  const a = kern.shape[1] as number, n = sig.shape[0]!;
  const padded = padSignal(sig, g);
  const P = spatialOf(kern.v).reduce((p, q) => p * q, 1), K = kernel.reduce((p, q) => p * q, 1);
  const onehot = new Float32Array(K * K);
  for (let k = 0; k < K; k++) onehot[k * K + k] = 1;
  const w = sig.constant({ dtype: 'float32', dims: [K, 1, ...kernel], data: onehot }, 'conv_patch_kernel');
  const patches = padded.conv(w, undefined, { strides: g.s, dilations: g.d }).reshape([n, K, P]);
  const dw = kern.reshape([n, a, P]).matmul(patches.transpose([0, 2, 1])).sum([0]); // [A, K]
  return dw.reshape([a, 1, ...kernel]);
}

/**
 * The same weight gradient for a signal with several channels, one GEMM per kernel offset:
 * the signal channels-last once, then for each offset k a (strided) Slice of it, [N*P, B] rows
 * contiguous, and dW[:, :, k] = kern [A, N*P] x slice [N*P, B]. Each slice is consumed while it
 * is small, so nothing of size N*P*K is written at once (a Gather of all patches, measured, was
 * memory-bound at batch 256). Returns [kern channels, sig channels, ...kernel].
 */
export function sliceWeightGrad(sig: Tensor, kern: Tensor, g: Geometry, kernel: number[]): Tensor {
  const r = sig.rank, sAxes = spatialAxes(r);
  const a = kern.shape[1] as number, b = sig.shape[1] as number;
  const padded = padSignal(sig, g);
  const pk = spatialOf(kern.v);
  const last = padded.transpose([0, ...sAxes, 1]); // [N, ...spatial, B]
  const kernRows = kern.transpose(perm01(r)).reshape([a, -1]); // [A, N*P]
  const strided = g.s.some((v) => v !== 1);
  const parts: Tensor[] = [];
  for (let k = 0; k < kernel.reduce((p, q) => p * q, 1); k++) {
    const off: number[] = [];
    for (let i = kernel.length - 1, rk = k; i >= 0; rk = Math.floor(rk / kernel[i]!), i--) off.unshift((rk % kernel[i]!) * g.d[i]!);
    const starts = off, ends = off.map((o, i) => o + (pk[i]! - 1) * g.s[i]! + 1);
    const patch = last.slice(starts, ends, sAxes.map((ax) => ax - 1), strided ? g.s : undefined);
    parts.push(kernRows.matmul(patch.reshape([-1, b]))); // [A, B]
  }
  return Tensor.concat(parts, 1).reshape([a, ...kernel, b]).transpose([0, r - 1, ...sAxes.map((ax) => ax - 1)]);
}

export type WeightGradForm = 'patches' | 'slices' | 'swap';

/**
 * Which form the weight gradient of a Conv (signal X, kernel operand dY) or ConvTranspose
 * (signal dY, kernel operand X) takes. All copy every patch of the signal once; the swapped
 * Conv's im2col copies rows one kernel row (kw floats) long, which is where its time goes
 * (bench/conv-wgrad.ts, DESIGN.md "Conv weight gradients"):
 * - a kernel operand of one position: the swapped Conv (pointwise, a GEMM with no im2col);
 * - a one-channel signal and a kernel of at most 25 positions: one-hot Conv patches + MatMul
 *   (whole rows copied; 1.04-1.5x faster for 3x3 to 5x5 kernels, but the patches are K times
 *   the signal, and at 7x7 they were 1.6-2.2x slower);
 * - at stride 1, signal channels B >= 2 kw: channels-last slices + GEMM per offset (rows of
 *   P_w*B floats; each GEMM has B columns): measured 2-2.5x faster at B/kw = 4 and 5.3, a tie
 *   at 1.1, 1.7x slower at 0.57 (7x7 kernels, 4 channels);
 * - otherwise the swapped Conv (strided layers: slices were no faster inside training steps).
 */
export function weightGradForm(sig: Value, kern: Value, g: Geometry): WeightGradForm {
  if (spatialOf(kern).every((n) => n === 1)) return 'swap';
  const b = sig.shape[1] as number;
  if (b === 1) return g.k.reduce((p, q) => p * q, 1) <= 25 ? 'patches' : 'swap';
  return g.s.every((s) => s === 1) && b >= 2 * g.k[g.k.length - 1]! ? 'slices' : 'swap';
}

function anyWeightGrad(sig: Tensor, kern: Tensor, g: Geometry, kernel: number[]): Tensor {
  const form = weightGradForm(sig.v, kern.v, g);
  if (form === 'patches') return patchWeightGrad(sig, kern, g, kernel);
  return form === 'slices' ? sliceWeightGrad(sig, kern, g, kernel) : weightGrad(sig, kern, g, kernel);
}

/**
 * dB = dY summed over batch and space, as two contiguous reductions (space, then batch): one
 * ReduceSum over axes [0, 2, 3] measured slower at every chapter shape (bench/conv-db.ts:
 * [256,16,25,25] 0.37 -> 0.26 ms, [256,1,28,28] 0.145 -> 0.046 ms).
 */
function biasGrad(d: Tensor): Tensor {
  const c = d.shape[1] as number;
  const rows = d.rank === 3 ? d : d.reshape([d.shape[0]!, c, spatialOf(d.v).reduce((p, q) => p * q, 1)]);
  return rows.sum([2]).sum([0]);
}

/** Apply `fn` per channel group (split along axis 1) and concatenate along axis 0. */
function perGroup(a: Tensor, b: Tensor, groups: number, fn: (a: Tensor, b: Tensor) => Tensor): Tensor {
  if (groups === 1) return fn(a, b);
  const as = a.split(new Array(groups).fill((a.shape[1] as number) / groups), 1);
  const bs = b.split(new Array(groups).fill((b.shape[1] as number) / groups), 1);
  return Tensor.concat(as.map((ai, i) => fn(ai, bs[i]!)), 0);
}

defineOp('Conv', {
  infer: ([x, w, b], attrs) => {
    const g = geometry(attrs, spatialOf(w!));
    const c = x!.shape[1]!, o = w!.shape[0] as number;
    if (x!.shape.length !== w!.shape.length) throw new Error(`expected a ${w!.shape.length}-D input, got ${formatShape(x!.shape)}`);
    if (c !== w!.shape[1] && !(typeof c === 'number' && c === (w!.shape[1] as number) * g.group))
      throw new Error(`expected ${(w!.shape[1] as number) * g.group} input channels, got ${c} (input ${formatShape(x!.shape)}, weight ${formatShape(w!.shape)})`);
    if (b && b.shape[0] !== o) throw new Error(`bias ${formatShape(b.shape)} does not match ${o} output channels`);
    const sp = spatialOf(x!).map((n, i) => convOut(n, i, g));
    return [{ dtype: 'float32', shape: [x!.shape[0]!, o, ...sp] }];
  },
  vjp: ({ inputs: [x, w, b], attrs }, [d], needs) => {
    const kernel = spatialOf(w!.v);
    const g = geometry(attrs, kernel);
    let dx: Tensor | undefined, dw: Tensor | undefined, db: Tensor | undefined;
    if (needs[0]) {
      const inSp = spatialOf(x!.v), outSp = spatialOf(d!.v);
      const outputPadding = inSp.map((n, i) => n + g.pb[i]! + g.pe[i]! - g.d[i]! * (kernel[i]! - 1) - 1 - (outSp[i]! - 1) * g.s[i]!);
      dx = d!.convTranspose(w!, undefined, { strides: g.s, pads: [...g.pb, ...g.pe], dilations: g.d, group: g.group, output_padding: outputPadding });
    }
    if (needs[1]) dw = perGroup(x!, d!, g.group, (xi, di) => anyWeightGrad(xi, di, g, kernel));
    if (b && needs[2]) db = biasGrad(d!);
    return [dx, dw, db];
  },
});

defineOp('ConvTranspose', {
  infer: ([x, w, b], attrs) => {
    const g = geometry(attrs, spatialOf(w!));
    const op = (attrs.output_padding as number[] | undefined) ?? g.k.map(() => 0);
    if (x!.shape[1] !== w!.shape[0]) throw new Error(`expected ${w!.shape[0]} input channels, got ${x!.shape[1]} (input ${formatShape(x!.shape)}, weight ${formatShape(w!.shape)})`);
    const o = (w!.shape[1] as number) * g.group;
    if (b && b.shape[0] !== o) throw new Error(`bias ${formatShape(b.shape)} does not match ${o} output channels`);
    const sp = spatialOf(x!).map((n, i) => (n - 1) * g.s[i]! - g.pb[i]! - g.pe[i]! + g.d[i]! * (g.k[i]! - 1) + op[i]! + 1);
    return [{ dtype: 'float32', shape: [x!.shape[0]!, o, ...sp] }];
  },
  vjp: ({ inputs: [x, w, b], attrs }, [d], needs) => {
    const kernel = spatialOf(w!.v);
    const g = geometry(attrs, kernel);
    let dx: Tensor | undefined, dw: Tensor | undefined, db: Tensor | undefined;
    if (needs[0]) dx = d!.conv(w!, undefined, { strides: g.s, pads: [...g.pb, ...g.pe], dilations: g.d, group: g.group });
    // dW[ci, co, k] = sum x[n, ci, p] dY[n, co, p*s + k*d - pad]: dY is the signal, x the kernel.
    if (needs[1]) dw = perGroup(x!, d!, g.group, (xi, di) => anyWeightGrad(di, xi, g, kernel));
    if (b && needs[2]) db = biasGrad(d!);
    return [dx, dw, db];
  },
});

function poolInfer(x: Value, attrs: Attrs, extraOutputs: number) {
  const g = geometry(attrs, attrs.kernel_shape as number[]);
  const sp = spatialOf(x).map((n, i) => {
    const o = convOut(n, i, g, attrs.ceil_mode === 1);
    // PyTorch drops a ceil-mode window that would start in the end padding; onnxruntime's shape
    // inference does not, so such a layer cannot be expressed faithfully: refuse it.
    if (attrs.ceil_mode === 1 && (o - 1) * g.s[i]! >= n + g.pb[i]!)
      throw new Error(`ceil_mode with padding ${g.pb[i]} would start the last window in the padding (input ${n}, kernel ${g.k[i]}, stride ${g.s[i]}); use ceil_mode=false or less padding`);
    return o;
  });
  const shape: Shape = [x.shape[0]!, x.shape[1]!, ...sp];
  const outs = [{ dtype: x.dtype, shape }];
  if (extraOutputs) outs.push({ dtype: 'int64', shape });
  return outs;
}

/** Windows that tile the input without overlap (kernel == stride, no padding or dilation, 2-D). */
function isTiling(x: Value, attrs: Attrs): boolean {
  const k = attrs.kernel_shape as number[];
  const s = attrs.strides as number[];
  const d = (attrs.dilations as number[] | undefined) ?? k.map(() => 1);
  return x.shape.length === 4 && k.every((v, i) => v === s[i]) && (attrs.pads as number[]).every((p) => p === 0) && d.every((v) => v === 1) && !attrs.ceil_mode;
}

// Nearest-neighbour upsampling, used inside gradients only (no VJP of its own).
defineOp('Resize', {
  infer: ([x, , scales]) => {
    const sc = Array.from(scales!.const!.data as Float32Array);
    return [{ dtype: x!.dtype, shape: x!.shape.map((n, i) => (sc[i] === 1 ? n : Math.floor((n as number) * sc[i]!))) }];
  },
});

/** Repeat each value of [N, C, Ho, Wo] over its kh x kw window: [N, C, Ho*kh, Wo*kw]. */
export function repeatWindows(t: Tensor, kh: number, kw: number): Tensor {
  const roi = t.constant({ dtype: 'float32', dims: [0], data: new Float32Array(0) }, 'resize_roi');
  const scales = t.constant({ dtype: 'float32', dims: [4], data: Float32Array.of(1, 1, kh, kw) }, 'resize_scales');
  return t.op('Resize', [roi, scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
}

/** [1, 1, H, W]: kh*kw at each window's first position (row-major), down to 1 at its last. */
export function windowPriority(t: Tensor, kh: number, kw: number, h: number, w: number): Tensor {
  const data = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = kh * kw - ((y % kh) * kw + (x % kw));
  return t.constant({ dtype: 'float32', dims: [1, 1, h, w], data }, 'maxpool_priority');
}

/**
 * dX of a tiling MaxPool with PyTorch's tie rule: each window's dY goes to its FIRST maximum
 * (row-major). Priority of the positions equal to their window's max (Y repeated by a nearest
 * Resize, half the time of a ConvTranspose of ones), pooled, names the winning slot s per window; dY is put in slot s of kh*kw channel slots at the pooled resolution, and
 * one grouped ConvTranspose with one-hot kernels writes each slot to its position.
 * Isolated subgraph at the chapter's shapes: bench/maxpool-grad.ts, DESIGN.md "MaxPool gradient".
 */
export function firstMaxGrad(x: Tensor, y: Tensor, d: Tensor, kh: number, kw: number): Tensor {
  const [h, w] = spatialOf(x.v) as [number, number];
  const [ho, wo] = spatialOf(y.v) as [number, number];
  const c = x.shape[1] as number, kk = kh * kw;
  // Rows/columns no window covers (H not a multiple of k) are left out of the comparison and
  // come back as output_padding zeros of the last ConvTranspose.
  const covered = ho * kh === h && wo * kw === w ? x : x.slice([0, 0], [ho * kh, wo * kw], [2, 3]);
  // Cast + Mul rather than a broadcasting Where, here and for `routed`: onnxruntime's Where
  // broadcasts through a generic loop (bench/maxpool-grad.ts: 0.86 -> 0.76-0.81 ms at batch 32,
  // 9.9 -> 8.2 ms at 256). Same values: 0/1 times a priority or dY (dY = +-Inf aside).
  const tied = covered.equal(repeatWindows(y, kh, kw)).cast('float32').mul(windowPriority(x, kh, kw, ho * kh, wo * kw));
  const winner = tied.maxPool([kh, kw], [kh, kw], [0, 0, 0, 0]).unsqueeze([2]); // [N,C,1,Ho,Wo]
  const slots = x.constant({ dtype: 'float32', dims: [1, 1, kk, 1, 1], data: Float32Array.from({ length: kk }, (_, i) => kk - i) }, 'maxpool_slots');
  const routed = winner.equal(slots).cast('float32').mul(d.unsqueeze([2])).reshape([d.shape[0]!, c * kk, ho, wo]);
  const onehot = new Float32Array(c * kk * kk);
  for (let ch = 0; ch < c * kk; ch++) onehot[ch * kk + (ch % kk)] = 1;
  const kernel = x.constant({ dtype: 'float32', dims: [c * kk, 1, kh, kw], data: onehot }, 'maxpool_slot_kernel');
  return routed.convTranspose(kernel, undefined, { strides: [kh, kw], group: c, output_padding: [h - ho * kh, w - wo * kw] });
}

defineOp('MaxPool', {
  // Both paths give PyTorch's gradient: each window's dY goes to its first maximum (row-major),
  // and overlapping windows add up. Tiling windows (the common MaxPool2d(k)) use onnxruntime's
  // fast pooling kernel and route dY with the slot trick above; other windows emit Indices
  // (onnxruntime's loop keeps the first maximum) and scatter dY back additively.
  infer: ([x], attrs) => poolInfer(x!, attrs, isTiling(x!, attrs) ? 0 : 1),
  vjp: ({ inputs: [x], outputs: [y, idx], attrs }, [dy]) => {
    // After a ReLU (the chapter's Conv, ReLU, MaxPool), apply the ReLU's mask here, at the pooled
    // resolution: a window whose max is 0 sends nothing, one whose max is > 0 routes dY to a
    // positive input, so dX is zero wherever the ReLU's output is 0 and the ReLU's rule passes it
    // through (4x fewer elements masked for 2x2 windows). DESIGN.md "ReLU before MaxPool".
    const afterRelu = x!.v.producer?.op === 'Relu';
    const d = afterRelu ? Tensor.where(y!.greater(0), dy!, 0) : dy!;
    let dx: Tensor;
    if (!idx) {
      const [kh, kw] = attrs.kernel_shape as [number, number];
      dx = firstMaxGrad(x!, y!, d, kh, kw);
    } else {
      const flat = x!.zerosLike().reshape([-1]);
      const scattered = flat.op('ScatterElements', [idx.reshape([-1]), d.reshape([-1])], { axis: 0, reduction: 'add' });
      dx = scattered.op('Reshape', [x!.shapeOf()]);
    }
    if (afterRelu) zeroWhereNonPositive.set(dx.v, x!.v);
    return [dx];
  },
});

defineOp('AveragePool', {
  infer: ([x], attrs) => poolInfer(x!, attrs, 0),
  vjp: ({ inputs: [x], attrs }, [d]) => {
    const kernel = attrs.kernel_shape as number[];
    const g = geometry(attrs, kernel);
    const c = x!.shape[1] as number;
    const inSp = spatialOf(x!.v), outSp = spatialOf(d!.v);
    const area = kernel.reduce((p, q) => p * q, 1);
    // One window over the whole input (the chapter's AvgPool2d(9) on 9x9): dY/area broadcast over
    // it, Mul + Expand, half the time of the depthwise ConvTranspose below (bench/avgpool-grad.ts).
    if (outSp.every((o) => o === 1) && kernel.every((k, i) => k === inSp[i]) && [...g.pb, ...g.pe].every((p) => p === 0))
      return [d!.mul(1 / area).expand(d!.ints([1, c, ...inSp]))];
    // ceil_mode: the last window may overhang the padded input. Extend the end padding to cover it
    // (so output_padding stays >= 0) and divide each window by the part inside the padded input.
    const over = inSp.map((n, i) => Math.max(0, (outSp[i]! - 1) * g.s[i]! + kernel[i]! - (n + g.pb[i]! + g.pe[i]!)));
    const pe = g.pe.map((p, i) => p + over[i]!);
    const outputPadding = inSp.map((n, i) => n + g.pb[i]! + pe[i]! - (kernel[i]! - 1) - 1 - (outSp[i]! - 1) * g.s[i]!);
    let dd = d!;
    let w = 1 / area;
    if (over.some((o) => o > 0)) {
      const lens = outSp.map((o, i) => Array.from({ length: o }, (_, j) => Math.min(j * g.s[i]! + kernel[i]!, inSp[i]! + g.pb[i]! + g.pe[i]!) - j * g.s[i]!));
      const count = outSp.reduce((p, q) => p * q, 1);
      const inv = new Float32Array(count).map((_, flat) => {
        let r = flat, prod = 1;
        for (let i = outSp.length - 1; i >= 0; i--) {
          prod *= lens[i]![r % outSp[i]!]!;
          r = Math.floor(r / outSp[i]!);
        }
        return 1 / prod;
      });
      dd = d!.mul(d!.constant({ dtype: 'float32', dims: [1, 1, ...outSp], data: inv }, 'avgpool_grad_div'));
      w = 1;
    }
    const ones = x!.constant({ dtype: 'float32', dims: [c, 1, ...kernel], data: new Float32Array(c * area).fill(w) }, 'avgpool_grad');
    return [dd.convTranspose(ones, undefined, { strides: g.s, pads: [...g.pb, ...pe], group: c, output_padding: outputPadding })];
  },
});

defineOp('GlobalAveragePool', {
  infer: ([x]) => [{ dtype: x!.dtype, shape: [...x!.shape.slice(0, 2), ...x!.shape.slice(2).map((): Dim => 1)] }],
  vjp: ({ inputs: [x] }, [d]) => {
    const area = spatialOf(x!.v).reduce((p, q) => p * q, 1);
    return [d!.expand(x!.shapeOf()).div(area)];
  },
});
