// One table of primitives. Each op is defined once, beside its shape rule and its VJP rule
// (see ops/*.ts); this module only stores them.
import type { Attrs, DType, Node, Shape, Value } from './ir.js';
import type { Tensor } from './tensor-core.js';

export interface OutType {
  dtype: DType;
  shape: Shape;
}

export interface VjpContext {
  node: Node;
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: Attrs;
}

/** Returns the cotangent of each input (undefined where not needed or not differentiable). */
export type VjpRule = (ctx: VjpContext, dOuts: (Tensor | undefined)[], needs: boolean[]) => (Tensor | undefined)[];

export interface OpDef {
  infer(inputs: Value[], attrs: Attrs): OutType[];
  /** Absent for ops with no gradient (shape queries, comparisons, casts to int). */
  vjp?: VjpRule;
}

const table = new Map<string, OpDef>();

export function defineOp(name: string, def: OpDef): void {
  if (table.has(name)) throw new Error(`op ${name} defined twice`);
  table.set(name, def);
}

export function getOp(name: string): OpDef {
  const def = table.get(name);
  if (!def) throw new Error(`unknown op ${name}`);
  return def;
}

export function registeredOps(): string[] {
  return [...table.keys()].sort();
}
