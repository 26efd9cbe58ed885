// Whole training step A/B in one process: the same workload built from two checkouts of latentkit
// (each directory's own src/, so each has its own op registry and gradient rules), run in
// alternating rounds; best and median time per step of each, wall and CPU. On a shared machine
// this is steadier than separate processes run one after the other.
//   node --import tsx bench/ab-step.ts BASE_DIR NEW_DIR [workload=conv|mlp|colour32|lstm|<preset>] [batch=32] [rounds=30] [steps=20]
import { resolve } from 'node:path';

const [baseDir, newDir, workload = 'conv', batchArg = '32', roundsArg = '30', stepsArg = '20'] = process.argv.slice(2);
if (!baseDir || !newDir) throw new Error('usage: ab-step.ts BASE_DIR NEW_DIR [workload] [batch] [rounds] [steps]');
const B = Number(batchArg), rounds = Number(roundsArg), steps = Number(stepsArg);

async function build(dir: string) {
  const root = resolve(dir);
  const { SPECS } = await import(`${root}/bench/workloads.ts`);
  const { TrainingStep } = await import(`${root}/src/runtime/compile.ts`);
  const { Adam } = await import(`${root}/src/optim/optimizer.ts`);
  const { Rng } = await import(`${root}/src/util/random.ts`);
  const { buildModel } = await import(`${root}/src/models/presets.ts`);
  const { mseLoss } = await import(`${root}/src/losses/index.ts`);
  // A benchmark workload (bench/workloads.ts) or a preset's image model at [1, 28, 28].
  const spec = SPECS[workload] ?? { model: () => buildModel({ preset: workload }), shape: [1, 28, 28], lr: 1e-3, step: (m: { call(x: unknown): unknown }, [x]: unknown[]) => ({ loss: mseLoss(m.call(x), x) }) };
  const step = await TrainingStep.create(spec.model(), [{ name: 'x', shape: spec.shape }], spec.step, { optimizer: new Adam({ lr: spec.lr }) });
  const x = new Rng(1).fillUniform(new Float32Array(B * spec.shape.reduce((a: number, b: number) => a * b, 1)));
  for (let i = 0; i < 5; i++) await step.run([x], B);
  return { dir, run: () => step.run([x], B), wall: [] as number[], cpu: [] as number[] };
}

const sides = [await build(baseDir), await build(newDir)];
for (let r = 0; r < rounds; r++)
  for (const s of r % 2 ? [...sides].reverse() : sides) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) await s.run();
    const c = process.cpuUsage(c0);
    s.wall.push((performance.now() - t0) / steps);
    s.cpu.push((c.user + c.system) / 1000 / steps);
  }
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const best = (xs: number[]) => Math.min(...xs);
console.log(`${workload} batch ${B}: ${rounds} alternating rounds of ${steps} steps, ms per step`);
for (const s of sides) console.log(`${s.dir.padEnd(28)} wall best ${best(s.wall).toFixed(3)} median ${med(s.wall).toFixed(3)} | CPU best ${best(s.cpu).toFixed(3)} median ${med(s.cpu).toFixed(3)}`);
const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]];
const ratios = a.wall.map((w, i) => w / b.wall[i]!);
console.log(`speedup (base/new): wall best ${(best(a.wall) / best(b.wall)).toFixed(3)}, median ${(med(a.wall) / med(b.wall)).toFixed(3)}, median of per-round ratios ${med(ratios).toFixed(3)}; CPU best ${(best(a.cpu) / best(b.cpu)).toFixed(3)}, median ${(med(a.cpu) / med(b.cpu)).toFixed(3)}`);
