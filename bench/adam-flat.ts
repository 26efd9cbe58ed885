// Adam update of a whole model timed in isolation (DESIGN.md: "Measure ops in isolation"):
// one update per parameter (~13 elementwise nodes each, as the training graph has it) against a
// multi-tensor form (flatten + Concat parameters, gradients and state, one update over the flat
// buffer, Split + Reshape back, so the per-parameter graph inputs and outputs stay as they are).
// Usage: node --import tsx bench/adam-flat.ts [seed-cnn|cnn|mlp] [rounds=40] [runsPerRound=50]
import { Graph, type Value } from '../src/graph/ir.js';
import { Tensor } from '../src/graph/tensor.js';
import '../src/graph/ops/index.js';
import { MLPAutoencoder } from '../src/models/mlp-autoencoder.js';
import { buildModel } from '../src/models/presets.js';
import { emitModel } from '../src/onnx/emit.js';
import { Adam } from '../src/optim/optimizer.js';
import { createSession, floatTensor, scalarTensor } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';
import { timeBestOf } from './best-of.js';

const [which = 'seed-cnn', roundsArg = '40', runsArg = '50'] = process.argv.slice(2);
const model = which === 'mlp' ? new MLPAutoencoder([784, 512, 256, 32]) : buildModel({ preset: which });
const params = model.namedParameters().map(([n, p]) => ({ name: n, shape: p.shape as number[], size: p.size }));
const adam = new Adam({ lr: 1e-3 });

function build(flat: boolean) {
  const g = new Graph();
  const scalars = Object.fromEntries(Object.keys(adam.scalars(1)).map((k) => [k, new Tensor(g, g.input(`opt_${k}`, 'float32', []))]));
  const inputs = (suffix: string) => params.map((p) => new Tensor(g, g.input(`${p.name}${suffix}`, 'float32', p.shape)));
  const [ps, gs, ms, vs] = [inputs(''), inputs('.grad'), inputs('.m'), inputs('.v')];
  const outs: Value[] = [];
  if (!flat) {
    params.forEach((_, i) => {
      const u = adam.update(ps[i]!, gs[i]!, [ms[i]!, vs[i]!], scalars);
      outs.push(u.param.v, ...u.state.map((s) => s.v));
    });
  } else {
    const cat = (ts: Tensor[]) => Tensor.concat(ts.map((t) => t.reshape([-1])), 0);
    const u = adam.update(cat(ps), cat(gs), [cat(ms), cat(vs)], scalars);
    const back = (t: Tensor) => t.split(params.map((p) => p.size), 0).map((part, i) => part.reshape(params[i]!.shape).v);
    const [np, nm, nv] = [back(u.param), back(u.state[0]!), back(u.state[1]!)];
    params.forEach((_, i) => outs.push(np[i]!, nm[i]!, nv[i]!));
  }
  g.outputs = outs;
  return g;
}

const rng = new Rng(1);
const feeds: Record<string, ReturnType<typeof floatTensor>> = {};
for (const p of params)
  for (const suffix of ['', '.grad', '.m', '.v'])
    feeds[`${p.name}${suffix}`] = floatTensor(rng.fillUniform(new Float32Array(p.size)), p.shape);
for (const [k, v] of Object.entries(adam.scalars(3))) feeds[`opt_${k}`] = scalarTensor(v);

const candidates = [];
for (const flat of [false, true]) {
  const g = build(flat);
  const s = await createSession(emitModel(g));
  candidates.push({ name: flat ? 'multi-tensor (Concat/Split)' : 'per parameter', s, nodes: g.nodes.length, out: await s.run(feeds), best: Infinity, bestCpu: Infinity });
}
// Same numbers either way (elementwise on the same values).
const [a, b] = candidates.map((c) => Object.values(c.out).map((t) => Array.from(t.data as Float32Array)));
if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('the two forms disagree');
await timeBestOf(candidates, Number(roundsArg), Number(runsArg), (c) => c.s.run(feeds));
const total = params.reduce((s, p) => s + p.size, 0);
console.log(`Adam over ${which}: ${params.length} parameters, ${total} values; best of ${roundsArg}x${runsArg} runs`);
for (const c of candidates) console.log(`${c.name.padEnd(28)} ${c.best.toFixed(3)} ms wall, ${c.bestCpu.toFixed(3)} ms CPU (${c.nodes} nodes)`);
