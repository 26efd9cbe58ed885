// Per-op profile of one model's training step (onnxruntime's profiler), aggregated by op
// type and by the module that emitted the node. Usage:
//   node --import tsx bench/profile.ts [conv|mlp|lstm|seed-cnn|cnn] [batch] [steps] [layer regex]
// PROFILE_THREADS=N sets onnxruntime's intra-op threads (default 1).
// With a regex, also the kernel time per step of each layer (node-name prefix before '#') matching it.
// conv, mlp and lstm are the benchmark's workloads (bench/workloads.ts); other names are presets.
import { readFileSync, rmSync } from 'node:fs';
import { mseLoss } from '../src/losses/index.js';
import { buildModel } from '../src/models/presets.js';
import { Adam } from '../src/optim/optimizer.js';
import { TrainingStep } from '../src/runtime/compile.js';
import { Rng } from '../src/util/random.js';
import { SPECS, type Spec } from './workloads.js';

const [preset = 'seed-cnn', batchArg = '32', stepsArg = '50', filter] = process.argv.slice(2);
const B = Number(batchArg), steps = Number(stepsArg);
const spec: Spec = SPECS[preset] ?? { model: () => buildModel({ preset }), shape: [1, 28, 28], lr: 1e-3, step: (m, [x]) => ({ loss: mseLoss(m.call(x!), x!) }) };
const model = spec.model();
const prefix = `/tmp/latentkit-profile-${process.pid}`;
const step = await TrainingStep.create(model, [{ name: 'x', shape: spec.shape }], spec.step, {
  optimizer: new Adam({ lr: spec.lr }),
  profilePrefix: prefix,
  intraOpThreads: Number(process.env.PROFILE_THREADS ?? 1),
});
const x = new Rng(1).fillUniform(new Float32Array(B * 784));
for (let i = 0; i < steps; i++) await step.run([x], B);
(step as unknown as { session: { endProfiling(): void } }).session.endProfiling();
const { readdirSync } = await import('node:fs');
const file = readdirSync('/tmp').filter((f) => f.startsWith(prefix.slice(5))).map((f) => `/tmp/${f}`)[0]!;
const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
rmSync(file);
const byOp = new Map<string, number>();
const byNode = new Map<string, number>();
let total = 0;
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const op = e.args?.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const node = e.name.replace(/_kernel_time$/, '').replace(/_\d+$/, '');
  byNode.set(node, (byNode.get(node) ?? 0) + e.dur);
  total += e.dur;
}
const rows = [...byOp].sort((a, b) => b[1] - a[1]);
console.log(`${preset}, batch ${B}, ${steps} steps: kernel time per step ${(total / steps / 1000).toFixed(2)} ms`);
for (const [op, us] of rows.slice(0, 15)) console.log(`${op.padEnd(20)} ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / steps / 1000).toFixed(3)} ms/step`);
console.log('\nby layer and op:');
for (const [n, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${n.padEnd(60)} ${((100 * us) / total).toFixed(1).padStart(5)}%`);
if (filter) {
  const re = new RegExp(filter);
  const byLayer = new Map<string, number>();
  for (const [n, us] of byNode) if (re.test(n)) byLayer.set(n.split('#')[0]!, (byLayer.get(n.split('#')[0]!) ?? 0) + us);
  if (process.env.PROFILE_NODES) for (const [n, us] of [...byNode].filter(([n]) => re.test(n)).sort((a, b) => b[1] - a[1])) console.log(`  ${n.padEnd(70)} ${(us / steps / 1000).toFixed(3)}`);
  console.log(`\nlayers matching /${filter}/ (ms/step):`);
  for (const [n, us] of [...byLayer].sort((a, b) => a[0].localeCompare(b[0]))) console.log(`${n.padEnd(60)} ${(us / steps / 1000).toFixed(3)}`);
}
