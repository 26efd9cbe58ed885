// `latentkit explain conv-transpose`: the chapter's Figure 5.3 computed (tasks/explain/).
import type { Command } from 'commander';
import { floatArg, intArg, matrixArg } from './args.js';
import { formatOf, jsonOption, outputOption, reporter, writeOutput } from './output.js';

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
      const { imageGridPng } = await import('../viz/png.js');
      const { explainConvTranspose, onnxConvTranspose } = await import('../tasks/explain/conv-transpose.js');
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
