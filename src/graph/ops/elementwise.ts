// Elementwise arithmetic, math and activations: shape rule = numpy broadcasting.
import type { Attrs, DType, Value } from '../ir.js';
import { defineOp, type OpDef, type VjpRule } from '../registry.js';
import { broadcastShapes } from '../shape.js';
import { Tensor } from '../tensor-core.js';
import { unbroadcast, zeroWhereNonPositive } from './common.js';

function broadcastInfer(outDtype?: DType) {
  return (inputs: Value[], _attrs: Attrs) => {
    let shape = inputs[0]!.shape;
    for (const v of inputs.slice(1)) shape = broadcastShapes(shape, v.shape);
    return [{ dtype: outDtype ?? inputs[0]!.dtype, shape }];
  };
}

/** Binary ops: the rule gives full-shape cotangents; unbroadcasting is shared. */
function binary(name: string, rule: (a: Tensor, b: Tensor, y: Tensor, d: Tensor) => [Tensor | undefined, Tensor | undefined]) {
  defineOp(name, {
    infer: broadcastInfer(),
    vjp: ({ inputs: [a, b], outputs: [y] }, [d], needs) => {
      const [da, db] = rule(a!, b!, y!, d!);
      return [needs[0] && da ? unbroadcast(da, a!.shape) : undefined, needs[1] && db ? unbroadcast(db, b!.shape) : undefined];
    },
  });
}

binary('Add', (_a, _b, _y, d) => [d, d]);
binary('Sub', (_a, _b, _y, d) => [d, d.neg()]);
binary('Mul', (a, b, _y, d) => [d.mul(b), d.mul(a)]);
binary('Div', (_a, b, y, d) => [d.div(b), d.mul(y).div(b).neg()]);
binary('Pow', (a, b, y, d) => [d.mul(b).mul(a.pow(b.sub(1))), d.mul(y).mul(a.log())]);
binary('Max', (a, b, _y, d) => {
  const m = a.op('GreaterOrEqual', [b]);
  return [Tensor.where(m, d, 0), Tensor.where(m, 0, d)];
});
binary('Min', (a, b, _y, d) => {
  const m = a.op('LessOrEqual', [b]);
  return [Tensor.where(m, d, 0), Tensor.where(m, 0, d)];
});

/** Unary ops: cotangent from input x, output y, incoming d and attributes. */
function unary(name: string, rule: ((x: Tensor, y: Tensor, d: Tensor, attrs: Attrs) => Tensor) | null) {
  const def: OpDef = { infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }] };
  if (rule) def.vjp = ({ inputs: [x], outputs: [y], attrs }, [d]) => [rule(x!, y!, d!, attrs)];
  defineOp(name, def);
}

unary('Neg', (_x, _y, d) => d.neg());
unary('Sqrt', (_x, y, d) => d.mul(0.5).div(y));
unary('Exp', (_x, y, d) => d.mul(y));
unary('Log', (x, _y, d) => d.div(x));
unary('Abs', (x, _y, d) => d.mul(x.sign()));
unary('Erf', (x, _y, d) => d.mul(x.square().neg().exp().mul(2 / Math.sqrt(Math.PI))));
unary('Relu', (_x, y, d) => (zeroWhereNonPositive.get(d.v) === y.v ? d : Tensor.where(y.greater(0), d, 0)));
unary('LeakyRelu', (x, _y, d, a) => Tensor.where(x.greater(0), d, d.mul(a.alpha as number)));
unary('Sigmoid', (_x, y, d) => d.mul(y).mul(y.rsub(1)));
unary('Tanh', (_x, y, d) => d.mul(y.square().rsub(1)));
unary('Softplus', (x, _y, d) => d.mul(x.sigmoid()));
unary('Softmax', (_x, y, d, a) => y.mul(d.sub(d.mul(y).sum([a.axis as number], true))));
unary('LogSoftmax', (_x, y, d, a) => d.sub(y.exp().mul(d.sum([a.axis as number], true))));
unary('Sign', null);

// Clip(x, min, max): the gradient passes where clipping left x unchanged.
defineOp('Clip', {
  infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }],
  vjp: ({ inputs: [x], outputs: [y] }, [d]) => [Tensor.where(y!.equal(x!), d!, 0), undefined, undefined],
});

// Where(cond, a, b)
defineOp('Where', {
  infer: (inputs) => broadcastInfer(inputs[1]!.dtype)(inputs, {}),
  vjp: ({ inputs: [c, a, b] }, [d], needs) => [
    undefined,
    needs[1] ? unbroadcast(Tensor.where(c!, d!, 0), a!.shape) : undefined,
    needs[2] ? unbroadcast(Tensor.where(c!, 0, d!), b!.shape) : undefined,
  ],
});

for (const cmp of ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor']) {
  defineOp(cmp, { infer: broadcastInfer('bool') });
}
defineOp('Not', { infer: (inputs) => [{ dtype: 'bool', shape: inputs[0]!.shape }] });

const castRule: VjpRule = ({ inputs: [x], attrs }, [d]) =>
  attrs.to === 'float32' && x!.dtype === 'float32' ? [d] : [undefined];
defineOp('Cast', {
  infer: (inputs, attrs) => [{ dtype: attrs.to as DType, shape: inputs[0]!.shape }],
  vjp: castRule,
});
