// Export a module as a standalone ONNX inference model (eval mode, weights as initializers).
import type { Dim } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { beginTrace, type Module } from '../nn/module.js';
import { writeFileAtomic } from '../util/atomic.js';
import { emitModel } from './emit.js';

export interface ExportInput {
  name: string;
  /** Per-sample shape; a symbolic batch dimension 'N' is prepended. */
  shape: Dim[];
}

export interface ExportOptions {
  inputs: ExportInput[];
  /** Output names, in the order `forward` returns them. */
  outputNames?: string[];
  /** What to run; defaults to module.call(...inputs). */
  fn?: (m: Module, inputs: Tensor[]) => Tensor | Tensor[];
  docString?: string;
}

export function exportOnnx(model: Module, opts: ExportOptions): Uint8Array {
  const wasTraining = model.training;
  model.eval();
  try {
    const { g, ctx } = beginTrace(model, 'frozen');
    const ins = opts.inputs.map((i) => new Tensor(g, g.input(i.name, 'float32', ['N', ...i.shape])));
    const out = opts.fn ? opts.fn(model, ins) : model.call(...ins);
    const outs = (Array.isArray(out) ? out : [out]) as Tensor[];
    if (ctx.randoms.length) throw new Error('the exported graph draws random numbers; export it in a deterministic form');
    g.outputs = outs.map((t, i) => {
      const v = g.inputs.includes(t.v) ? t.op('Identity').v : t.v;
      v.name = opts.outputNames?.[i] ?? (outs.length === 1 ? 'output' : `output_${i}`);
      return v;
    });
    return emitModel(g, { name: model.constructor.name, docString: opts.docString });
  } finally {
    model.train(wasTraining);
  }
}

export function saveOnnx(path: string, model: Module, opts: ExportOptions): void {
  writeFileAtomic(path, exportOnnx(model, opts));
}
