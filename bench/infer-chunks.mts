// Inference of 1,000 images (the chapter's model, forward only) run as one batch or as chunks of
// a smaller batch, each chunk one session run; best of R rounds, rounds alternating.
// Usage: node --import tsx bench/infer-chunks.mts [threads=2] [rounds=8]
import { ConvAutoencoder } from '../src/models/conv-autoencoder.js';
import { ForwardGraph, ParamStore } from '../src/runtime/compile.js';
import { Rng } from '../src/util/random.js';

const threads = Number(process.argv[2] ?? 2), rounds = Number(process.argv[3] ?? 8);
const N = 1000;
const model = new ConvAutoencoder();
const fg = await ForwardGraph.create(model, [{ name: 'x', shape: [1, 28, 28] }], (m, [x]) => ({ loss: x!.sum(), outputs: { y: m.call(x!) } }), new ParamStore(model), { intraOpThreads: threads, withLoss: false, calibrateLayout: false });
const x = new Rng(1).fillUniform(new Float32Array(N * 784));
const chunks = [1000, 500, 250, 128, 64, 32];
const best = new Map<number, number>();
for (let r = 0; r < rounds; r++)
  for (const c of chunks) {
    const t0 = performance.now();
    for (let rep = 0; rep < 3; rep++)
      for (let s = 0; s < N; s += c) await fg.run([x.subarray(s * 784, Math.min(N, s + c) * 784)], Math.min(c, N - s));
    best.set(c, Math.min(best.get(c) ?? Infinity, (performance.now() - t0) / 3));
  }
for (const c of chunks) console.log(`chunks of ${c}: ${Math.round((N / best.get(c)!) * 1000)} img/s`);
process.exit(0);
