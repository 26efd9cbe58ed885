// One benchmark workload in its own process (so peak RSS is its own). Prints one JSON line.
//   node --import tsx bench/workloads.ts NAME [--threads N] [--seconds S] [--workers W] [--set key=value ...]
// --set passes a training or session option (e.g. preallocateOutputs=false), for A/B runs (bench/ab.ts).
import { mseLoss } from '../src/losses/index.js';
import { ConvAutoencoder, DeepConvAutoencoder } from '../src/models/conv-autoencoder.js';
import { LSTMAutoencoder, MLPAutoencoder } from '../src/models/mlp-autoencoder.js';
import type { Module } from '../src/nn/module.js';
import type { ParallelOptions } from '../src/runtime/parallel.js';
import { Adam } from '../src/optim/optimizer.js';
import { ForwardGraph, ParamStore, type StepFn } from '../src/runtime/compile.js';
import { createTrainingStep } from '../src/runtime/parallel.js';
import { Rng } from '../src/util/random.js';

export interface Spec {
  model: () => Module;
  shape: number[];
  lr: number;
  step: StepFn;
}

const recon: StepFn = (m, [x]) => ({ loss: mseLoss(m.call(x!), x!) });
export const SPECS: Record<string, Spec> = {
  conv: { model: () => new ConvAutoencoder(), shape: [1, 28, 28], lr: 0.02, step: recon },
  mlp: { model: () => new MLPAutoencoder([784, 512, 256, 32]), shape: [784], lr: 1e-3, step: recon },
  // The cnn preset built for colour 32x32 (two stride-2 stages to 8x8); DeepConvColour32 in pytorch_bench.py.
  colour32: { model: () => new DeepConvAutoencoder(4, 16, [3, 32, 32]), shape: [3, 32, 32], lr: 2e-3, step: recon },
  lstm: {
    model: () => new LSTMAutoencoder(28, 128, 28),
    shape: [28, 28],
    lr: 1e-3,
    step: (m, [x]) => ({ loss: mseLoss(m.call(x!), LSTMAutoencoder.reversed(x!)) }),
  },
};

export const WORKLOADS: Record<string, { spec: string; kind: 'train' | 'infer' | 'epoch'; batch: number }> = {
  conv_train_b32: { spec: 'conv', kind: 'train', batch: 32 },
  conv_train_b256: { spec: 'conv', kind: 'train', batch: 256 },
  conv_infer_b32: { spec: 'conv', kind: 'infer', batch: 32 },
  conv_infer_b1000: { spec: 'conv', kind: 'infer', batch: 1000 },
  mlp_train_b256: { spec: 'mlp', kind: 'train', batch: 256 },
  colour32_train_b64: { spec: 'colour32', kind: 'train', batch: 64 },
  lstm_train_b256: { spec: 'lstm', kind: 'train', batch: 256 },
  conv_epoch: { spec: 'conv', kind: 'epoch', batch: 32 },
};

export async function runWorkload(name: string, threads: number, seconds: number, workers = 1, extra: Partial<ParallelOptions> = {}) {
  const w = WORKLOADS[name] ?? (/^conv_train_b(\d+)$/.exec(name) ? { spec: 'conv', kind: 'train' as const, batch: Number(name.split('_b')[1]) } : undefined);
  if (!w) throw new Error(`unknown workload ${name}`);
  const spec = SPECS[w.spec]!;
  const model = spec.model();
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const inputs = [{ name: 'x', shape: spec.shape }];
  const rng = new Rng(1);
  const B = w.batch;
  let run: (x: Float32Array, n: number) => Promise<unknown>;
  let sessionTime = 0;
  // Per session (data parallel: the main thread's gradient share and the optimizer graph).
  const bySession: Record<string, number> = {};
  if (w.kind === 'infer') {
    const fg = await ForwardGraph.create(model, inputs, (m, [x]) => ({ loss: x!.sum(), outputs: { y: m.call(x!) } }), new ParamStore(model), { intraOpThreads: threads, withLoss: false, calibrateLayout: true }); // as AutoencoderRunner does (embed, anomaly, compress, eval)
    run = (x, n) => fg.run([x], n);
  } else {
    const ts = await createTrainingStep(model, inputs, spec.step, { optimizer: new Adam({ lr: spec.lr }), intraOpThreads: threads, workers, ...extra });
    // Time spent inside onnxruntime, to report the host-side share of each step.
    const holder = ts as unknown as Record<string, { run: (...a: unknown[]) => Promise<unknown> } | undefined>;
    for (const key of ['session', 'gradSession', 'optSession']) {
      const session = holder[key];
      if (!session) continue;
      const inner = session.run.bind(session);
      session.run = async (...a: unknown[]) => {
        const t = performance.now();
        const r = await inner(...a);
        sessionTime += performance.now() - t;
        bySession[key] = (bySession[key] ?? 0) + performance.now() - t;
        return r;
      };
    }
    run = (x, n) => ts.run([x], n);
  }
  if (w.kind === 'epoch') {
    const data = rng.fillUniform(new Float32Array(60000 * size));
    const order = rng.permutation(60000);
    const batch = new Float32Array(B * size);
    const t0 = performance.now();
    for (let s = 0; s < 60000; s += B) {
      const n = Math.min(B, 60000 - s);
      for (let k = 0; k < n; k++) batch.set(data.subarray(order[s + k]! * size, (order[s + k]! + 1) * size), k * size);
      await run(n === B ? batch : batch.subarray(0, n * size), n);
    }
    const elapsed = (performance.now() - t0) / 1000;
    return { workload: name, threads, workers, batch: B, images_per_s: 60000 / elapsed, elapsed_s: elapsed, host_share: 1 - sessionTime / 1000 / elapsed, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
  }
  const x = rng.fillUniform(new Float32Array(B * size));
  for (let i = 0; i < 3; i++) await run(x, B);
  sessionTime = 0;
  for (const k in bySession) bySession[k] = 0;
  let steps = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || steps < 3) {
    await run(x, B);
    steps++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // CPU time per step (all threads): steadier than wall time on a shared machine.
  const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
  return { workload: name, threads, workers, batch: B, images_per_s: (steps * B) / elapsed, cpu_ms_per_step: cpuMs, ms_per_step: (elapsed * 1000) / steps, session_ms_per_step: Object.fromEntries(Object.entries(bySession).map(([k, v]) => [k, v / steps])), steps, elapsed_s: elapsed, host_share: w.kind === 'train' ? 1 - sessionTime / 1000 / elapsed : undefined, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [name, ...rest] = process.argv.slice(2);
  const arg = (k: string, d: number) => (rest.includes(k) ? Number(rest[rest.indexOf(k) + 1]) : d);
  const extra = Object.fromEntries(rest.flatMap((a, i) => (rest[i - 1] === '--set' ? [parseSetting(a)] : [])));
  console.log(JSON.stringify(await runWorkload(name!, arg('--threads', 1), arg('--seconds', 3), arg('--workers', 1), extra)));
  process.exit(0); // worker threads of a data-parallel step would keep the process alive
}

/** `key=value` with value a number, true/false or a string. */
function parseSetting(kv: string): [string, unknown] {
  const [k, v = 'true'] = kv.split('=');
  return [k!, v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) ? Number(v) : v];
}
