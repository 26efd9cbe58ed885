// Reverse-mode autodiff over the IR: walk the nodes between the parameters and the loss in
// reverse order, call each primitive's VJP rule, and sum cotangents that meet.
import { type Graph, type Value, formatShape, nodesFeeding } from '../graph/ir.js';
import { getOp } from '../graph/registry.js';
import { Tensor } from '../graph/tensor.js';

/** Values that depend on any of `wrt` (forward reachability). */
function dependents(g: Graph, wrt: Value[]): Set<Value> {
  const live = new Set<Value>(wrt);
  for (const n of g.nodes) if (n.inputs.some((v) => live.has(v))) for (const o of n.outputs) live.add(o);
  return live;
}

/**
 * Gradients of scalar `loss` with respect to each of `wrt`, as new nodes in the same graph.
 * `seed` is the cotangent of the loss (defaults to 1).
 */
export function gradients(g: Graph, loss: Value, wrt: Value[], seed?: Value): Value[] {
  if (loss.shape.length !== 0 && !seed) throw new Error(`loss must be a scalar, got shape ${formatShape(loss.shape)}`);
  const live = dependents(g, wrt);
  const onPath = new Set(nodesFeeding(g, [loss]));
  const cot = new Map<Value, Tensor>();
  const lossT = new Tensor(g, loss);
  cot.set(loss, seed ? new Tensor(g, seed) : lossT.scalar(1));

  const forward = g.nodes.filter((n) => onPath.has(n) && n.outputs.some((v) => live.has(v)));
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    const dOuts = node.outputs.map((v) => cot.get(v));
    if (dOuts.every((d) => d === undefined)) continue;
    const needs = node.inputs.map((v) => live.has(v) && v.dtype === 'float32');
    if (!needs.some(Boolean)) continue;
    const rule = getOp(node.op).vjp;
    if (!rule) throw new Error(`${node.scope || '<root>'}: no gradient rule for ${node.op}`);
    const ctx = {
      node,
      inputs: node.inputs.map((v) => new Tensor(g, v)),
      outputs: node.outputs.map((v) => new Tensor(g, v)),
      attrs: node.attrs,
    };
    const dIns = g.withScope(`${node.scope}/grad`, () => rule(ctx, dOuts, needs));
    node.inputs.forEach((v, j) => {
      const d = dIns[j];
      if (!needs[j] || !d) return;
      const prev = cot.get(v);
      cot.set(v, prev ? prev.add(d) : d);
    });
  }
  return wrt.map((v) => {
    const d = cot.get(v);
    // A parameter the loss does not depend on gets a zero gradient, as in PyTorch's zero-filled .grad.
    return d ? d.v : new Tensor(g, v).zerosLike().v;
  });
}
