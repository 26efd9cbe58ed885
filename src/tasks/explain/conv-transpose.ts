// The chapter's Figure 5.3 computed: each input value scales a copy of the kernel, the copy is
// placed at (i·stride, j·stride), the copies are summed, the bias added, and `padding`
// rows/columns cropped from each border; checked against onnxruntime's ConvTranspose.
import { Graph } from '../../graph/ir.js';
import { Tensor } from '../../graph/tensor.js';
import { emitModel } from '../../onnx/emit.js';
import { createSession, floatTensor } from '../../runtime/ort.js';

export interface ConvTransposeExplanation {
  copies: { at: [number, number]; value: number; grid: number[][] }[];
  sum: number[][];
  output: number[][];
}

export function explainConvTranspose(input: number[][], kernel: number[][], stride = 1, padding = 0, bias = 0): ConvTransposeExplanation {
  const [ih, iw] = [input.length, input[0]!.length];
  const [kh, kw] = [kernel.length, kernel[0]!.length];
  const [fh, fw] = [(ih - 1) * stride + kh, (iw - 1) * stride + kw];
  const zeros = () => Array.from({ length: fh }, () => new Array<number>(fw).fill(0));
  const sum = zeros();
  const copies: ConvTransposeExplanation['copies'] = [];
  for (let i = 0; i < ih; i++)
    for (let j = 0; j < iw; j++) {
      const grid = zeros();
      const v = input[i]![j]!;
      for (let a = 0; a < kh; a++)
        for (let b = 0; b < kw; b++) {
          grid[i * stride + a]![j * stride + b] = v * kernel[a]![b]!;
          sum[i * stride + a]![j * stride + b]! += v * kernel[a]![b]!;
        }
      copies.push({ at: [i * stride, j * stride], value: v, grid });
    }
  if (fh - 2 * padding < 1 || fw - 2 * padding < 1) throw new Error(`padding ${padding} crops away the whole ${fh}x${fw} output`);
  const output = sum.slice(padding, fh - padding).map((r) => r.slice(padding, fw - padding).map((x) => x + bias));
  return { copies, sum, output };
}

/** The same computation by onnxruntime's ConvTranspose, for the cross-check. */
export async function onnxConvTranspose(input: number[][], kernel: number[][], stride: number, padding: number, bias: number): Promise<number[][]> {
  const g = new Graph();
  const [ih, iw] = [input.length, input[0]!.length];
  const [kh, kw] = [kernel.length, kernel[0]!.length];
  const x = new Tensor(g, g.input('x', 'float32', [1, 1, ih, iw]));
  const w = new Tensor(g, g.input('w', 'float32', [1, 1, kh, kw]));
  const b = new Tensor(g, g.input('b', 'float32', [1]));
  const y = x.convTranspose(w, b, { strides: [stride, stride], pads: [padding, padding, padding, padding] });
  g.outputs = [y.v];
  const s = await createSession(emitModel(g));
  const r = await s.run({ x: floatTensor(Float32Array.from(input.flat()), [1, 1, ih, iw]), w: floatTensor(Float32Array.from(kernel.flat()), [1, 1, kh, kw]), b: floatTensor(Float32Array.of(bias), [1]) });
  const out = r[y.v.name]!;
  const [oh, ow] = [out.dims[2]!, out.dims[3]!];
  const d = out.data as Float32Array;
  return Array.from({ length: oh }, (_, i) => Array.from(d.subarray(i * ow, (i + 1) * ow)));
}
