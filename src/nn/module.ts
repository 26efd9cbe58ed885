// Module: PyTorch's nn.Module for tracing. Children, parameters and buffers are found by
// walking own properties in insertion order, so state_dict names match PyTorch's.
import { Graph, ShapeError } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { Buffer, Parameter } from './parameter.js';
import { contextOf, setContext, TraceContext, type BindMode } from './trace.js';

export interface StateEntry {
  data: Float32Array | BigInt64Array;
  shape: number[];
  dtype: 'float32' | 'int64';
}
export type StateDict = Map<string, StateEntry>;

export abstract class Module {
  training = true;
  /** Path in the module tree ('encoder.0'), set when the root is traced. */
  path = '';

  abstract forward(...args: any[]): any;

  /** Run forward inside this module's scope, so build errors name the layer. */
  call(...args: any[]): any {
    const t = args.flat(2).find((a) => a instanceof Tensor) as Tensor | undefined;
    if (!t) return this.forward(...args);
    const scope = `${this.path || '<root>'} (${this.constructor.name})`;
    try {
      return t.g.withScope(scope, () => this.forward(...args));
    } catch (e) {
      // A layer's own input checks throw plain Errors: name the innermost layer (once).
      if (e instanceof Error && !(e instanceof ShapeError)) throw Object.assign(new ShapeError(scope, this.constructor.name, e.message), { cause: e });
      throw e;
    }
  }

  protected ctx(g: Graph): TraceContext {
    return contextOf(g);
  }
  protected param(g: Graph, p: Parameter): Tensor {
    return contextOf(g).param(p);
  }

  namedChildren(): [string, Module][] {
    return Object.entries(this).filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this.namedChildren()) out.push(...m.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  private own<T>(cls: new (...a: any[]) => T): [string, T][] {
    return Object.entries(this).filter((e): e is [string, T] => e[1] instanceof cls);
  }

  namedParameters(): [string, Parameter][] {
    return this.namedModules().flatMap(([path, m]) => m.own(Parameter).map(([n, p]): [string, Parameter] => [path ? `${path}.${n}` : n, p]));
  }

  namedBuffers(): [string, Buffer][] {
    return this.namedModules().flatMap(([path, m]) => m.own(Buffer).map(([n, b]): [string, Buffer] => [path ? `${path}.${n}` : n, b]));
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.size, 0);
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters then buffers, PyTorch order within each module. Data is shared, not copied. */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const [path, m] of this.namedModules()) {
      for (const [k, v] of Object.entries(m)) {
        const name = path ? `${path}.${k}` : k;
        if (v instanceof Parameter) sd.set(name, { data: v.data, shape: v.shape, dtype: 'float32' });
        else if (v instanceof Buffer) sd.set(name, { data: v.data, shape: v.shape, dtype: v.dtype === 'int64' ? 'int64' : 'float32' });
      }
    }
    return sd;
  }

  /** Copy values in; shapes must match. `strict` also requires the same set of names. */
  /** Load weights; `source` (the file they came from) prefixes every error. */
  loadStateDict(sd: StateDict, strict = true, source?: string): void {
    const at = source ? `${source}: ` : '';
    const own = new Map<string, Parameter | Buffer>([...this.namedParameters(), ...this.namedBuffers()]);
    if (strict) {
      const missing = [...own.keys()].filter((k) => !sd.has(k) && !k.endsWith('num_batches_tracked'));
      const unexpected = [...sd.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length)
        throw new Error(`${at}state dict mismatch: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
    }
    for (const [name, entry] of sd) {
      const target = own.get(name);
      if (!target) continue;
      if (target.shape.join(',') !== entry.shape.join(','))
        throw new Error(`${at}${name}: shape [${entry.shape}] in the state dict, [${target.shape}] in the model`);
      const want = target instanceof Parameter ? 'float32' : target.dtype;
      if (entry.dtype !== want) throw new Error(`${at}${name}: the tensor is ${entry.dtype}, but the model's ${target instanceof Parameter ? 'parameter' : 'buffer'} is ${want}`);
      if (target instanceof Parameter) target.data = Float32Array.from(entry.data as Float32Array);
      else target.data = entry.dtype === 'int64' ? BigInt64Array.from(entry.data as BigInt64Array) : Float32Array.from(entry.data as Float32Array);
    }
  }

  /** Name every submodule by its path, for error messages. */
  assignPaths(): void {
    for (const [path, m] of this.namedModules()) m.path = path;
  }
}

/** Start tracing `root` into a new graph; returns the graph and its binding context. */
export function beginTrace(root: Module, mode: BindMode): { g: Graph; ctx: TraceContext } {
  root.assignPaths();
  const names = new Map<Parameter | Buffer, string>();
  for (const [n, p] of root.namedParameters()) names.set(p, n);
  for (const [n, b] of root.namedBuffers()) names.set(b, n);
  const g = new Graph();
  const ctx = new TraceContext(g, mode, names);
  setContext(g, ctx);
  return { g, ctx };
}
