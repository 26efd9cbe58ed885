// IR -> ONNX ModelProto bytes (opset 17, IR version 8), pruning nodes no output needs.
import onnxProto from 'onnx-proto';
import { nodesFeeding, type AttrValue, type DType, type Graph, type Node, type TensorData, type Value } from '../graph/ir.js';

const { onnx } = onnxProto;
export const OPSET = 17;

const DTYPE_CODE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };
/** Attributes that ONNX types as floats even when the JS number is integral. */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'momentum', 'ratio', 'gamma', 'lambd', 'bias', 'scale', 'mean', 'low', 'high', 'seed']);

export function dtypeCode(d: DType): number {
  return DTYPE_CODE[d];
}

function tensorProto(name: string, t: TensorData): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dataType: DTYPE_CODE[t.dtype], dims: t.dims, rawData: bytes };
}

function attrProto(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (name === 'to' && typeof v === 'string') return { name, type: A.INT, i: DTYPE_CODE[v as DType] };
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return FLOAT_ATTRS.has(name) ? { name, type: A.FLOAT, f: v } : { name, type: A.INT, i: v };
  if (Array.isArray(v)) return FLOAT_ATTRS.has(name) ? { name, type: A.FLOATS, floats: v } : { name, type: A.INTS, ints: v };
  return { name, type: A.TENSOR, t: tensorProto('', v) };
}

function valueInfo(v: Value): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: DTYPE_CODE[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d.replace(/[^A-Za-z0-9_]/g, '_') })) },
      },
    },
  };
}

/** Nodes (in order) that some graph output depends on. */
/** The nodes the graph's outputs need (the rest is dead code, left out of the model). */
export function liveNodes(g: Graph): Node[] {
  return nodesFeeding(g, g.outputs);
}

export interface EmitOptions {
  name?: string;
  docString?: string;
  /** Keep graph inputs that no live node reads (a runtime may feed them anyway). */
  keepUnusedInputs?: boolean;
}

export function emitModel(g: Graph, opts: EmitOptions = {}): Uint8Array {
  const nodes = liveNodes(g);
  const used = new Set<Value>(g.outputs);
  nodes.forEach((n) => n.inputs.forEach((v) => used.add(v)));
  const inits = [...g.initializers].filter(([v]) => used.has(v) && !g.inputs.includes(v));
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'latentkit',
    producerVersion: '0.1.0',
    docString: opts.docString ?? '',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: opts.name ?? 'latentkit',
      node: nodes.map((n, i) => ({
        opType: n.op,
        // Scope in the name: onnxruntime's profiler then attributes time to layers.
        name: `${n.scope || 'root'}#${n.op}_${i}`,
        input: n.inputs.map((v) => v.name),
        output: n.outputs.map((v) => v.name),
        attribute: Object.entries(n.attrs).map(([k, v]) => attrProto(k, v)),
        docString: n.scope,
      })),
      input: g.inputs.filter((v) => opts.keepUnusedInputs || used.has(v)).map(valueInfo),
      output: g.outputs.map(valueInfo),
      initializer: inits.map(([v, t]) => tensorProto(v.name, t)),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
