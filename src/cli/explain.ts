// `latentkit explain conv-transpose`: the chapter's Figure 5.3 computed. Each input value
// scales a copy of the kernel, the copy is placed at (i·stride, j·stride), the copies are
// summed, the bias added, and `padding` rows/columns cropped from each border. The result is
// checked against onnxruntime's ConvTranspose.
import type { Command } from 'commander';
import { Graph } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { emitModel } from '../onnx/emit.js';
import { createSession, floatTensor } from '../runtime/ort.js';
import { imageGridPng } from '../viz/png.js';
import { floatArg, intArg, matrixArg } from './args.js';
import { formatOf, jsonOption, outputOption, reporter, writeOutput } from './output.js';

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

function fmt(m: number[][]): string {
  const cells = m.map((r) => r.map((x) => (Number.isInteger(x) ? String(x) : x.toFixed(3))));
  const wdt = Math.max(...cells.flat().map((c) => c.length));
  return cells.map((r) => '  ' + r.map((c) => c.padStart(wdt)).join(' ')).join('\n');
}

export function registerExplain(program: Command): void {
  const explain = program.command('explain').description('worked examples of the operations in the chapter');
  explain
    .command('conv-transpose')
    .description("the chapter's Figure 5.3: how a transposed convolution turns a 2x2 input into a 3x3 output")
    .option('--input <M>', 'input matrix, rows separated by ";"', matrixArg, [[1, 2], [3, 4]])
    .option('--kernel <M>', 'kernel matrix', matrixArg, [[1, 0], [2, 1]])
    .option('--stride <N>', 'stride', intArg, 1)
    .option('--padding <N>', 'padding cropped from each border', intArg, 0)
    .option('--bias <X>', 'bias added to every output', floatArg, 0)
    .addOption(outputOption('also draw the copies and the sum as a PNG'))
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  latentkit explain conv-transpose\n  latentkit explain conv-transpose --input "1,2,3;4,5,6;7,8,9" --kernel "1,1;1,1" --stride 2 --padding 1 -o ct.png')
    .action(async (o) => {
      if (o.output) formatOf(o.output, { '.png': 'png' });
      const e = explainConvTranspose(o.input, o.kernel, o.stride, o.padding, o.bias);
      const lines = [`input (${o.input.length}x${o.input[0].length}):`, fmt(o.input), `kernel (${o.kernel.length}x${o.kernel[0].length}), stride ${o.stride}, padding ${o.padding}, bias ${o.bias}:`, fmt(o.kernel), ''];
      e.copies.forEach((c, k) => lines.push(`copy ${k + 1}: input value ${c.value} x kernel, placed at row ${c.at[0]}, column ${c.at[1]}:`, fmt(c.grid), ''));
      lines.push('sum of the copies:', fmt(e.sum), '', `output (sum + bias${o.padding ? `, cropped by ${o.padding}` : ''}), ${e.output.length}x${e.output[0]!.length}:`, fmt(e.output));
      const ort = await onnxConvTranspose(o.input, o.kernel, o.stride, o.padding, o.bias);
      const agree = ort.length === e.output.length && ort.every((r, i) => r.every((x, j) => Math.abs(x - e.output[i]![j]!) < 1e-4));
      lines.push('', `onnxruntime ConvTranspose gives the same output: ${agree ? 'yes' : 'NO'}`);
      const say = reporter(o);
      say.result({ input: o.input, kernel: o.kernel, stride: o.stride, padding: o.padding, bias: o.bias, copies: e.copies, sum: e.sum, output: e.output, onnxruntimeAgrees: agree }, lines);
      if (!agree) throw new Error('the hand computation and onnxruntime disagree');
      if (o.output) {
        const panels = [...e.copies.map((c) => c.grid), e.sum];
        const all = panels.flat(2);
        const lo = Math.min(...all), hi = Math.max(...all);
        const [h, w] = [e.sum.length, e.sum[0]!.length];
        const data = Float32Array.from(panels.flatMap((p) => p.flat().map((x) => (hi > lo ? (x - lo) / (hi - lo) : 0))));
        writeOutput(o.output, imageGridPng(data, { n: panels.length, channels: 1, height: h, width: w, cols: panels.length, scale: 24, pad: 4, labels: [...e.copies.map((_, k) => `copy ${k + 1}`), 'sum'] }));
        say.status(`wrote ${o.output}`);
      }
    });
}
