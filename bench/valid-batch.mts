// Time one validation pass (10,000 images, the chapter's model, its loss graph) at several batch
// sizes and thread counts. Usage: node --import tsx bench/valid-batch.mts [rounds=3]
import { mseLoss } from '../src/losses/index.js';
import { ConvAutoencoder } from '../src/models/conv-autoencoder.js';
import { ForwardGraph, ParamStore } from '../src/runtime/compile.js';
import { Rng } from '../src/util/random.js';

const rounds = Number(process.argv[2] ?? 3);
const N = 10_000;
const x = new Rng(1).fillUniform(new Float32Array(N * 784));
const model = new ConvAutoencoder();
const store = new ParamStore(model);
for (const [batch, threads] of [[32, 1], [256, 1], [1000, 1], [32, 2], [256, 2], [1000, 2]] as const) {
  const fg = await ForwardGraph.create(model, [{ name: 'x', shape: [1, 28, 28] }], (m, [v]) => ({ loss: mseLoss(m.call(v!), v!) }), store, { intraOpThreads: threads });
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let s = 0; s < N; s += batch) {
      const n = Math.min(batch, N - s);
      await fg.run([x.subarray(s * 784, (s + n) * 784)], n);
    }
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`batch ${batch}, ${threads} thread(s): ${best.toFixed(0)} ms per pass`);
}
process.exit(0);
