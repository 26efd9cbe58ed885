// Passes of the chapter's model, forward only, over IMAGES images cut into session runs of each
// CHUNK size, at each THREADS count of onnxruntime's intra-op pool; best of ROUNDS alternating
// rounds (bench/best-of.ts). --loss runs the validation graph (loss only, as the Trainer's
// evaluation does); without it, the reconstruction graph (as inference does).
//   node --import tsx bench/forward-chunks.ts IMAGES THREADS CHUNKS [ROUNDS=3] [--loss]
//   e.g. validation: 10000 1,2 32,256,1000 3 --loss   inference: 1000 2 1000,500,250,128,64,32 8
// LAYOUT=off builds the sessions without onnxruntime's NCHWc layout pass (what inference's
// calibration picks for the chapter's model at large batches).
import { mseLoss } from '../src/losses/index.js';
import { ConvAutoencoder } from '../src/models/conv-autoencoder.js';
import { ForwardGraph, ParamStore, type StepFn } from '../src/runtime/compile.js';
import { Rng } from '../src/util/random.js';
import { timeBestOf } from './best-of.js';

const args = process.argv.slice(2).filter((a) => a !== '--loss');
const loss = process.argv.includes('--loss');
const [images = 1000, roundsArg = 3] = [Number(args[0]), Number(args[3] ?? 3)];
const list = (s: string | undefined, d: string) => (s ?? d).split(',').map(Number);
const threadCounts = list(args[1], '2'), chunks = list(args[2], '1000,128,32');
const model = new ConvAutoencoder();
const store = new ParamStore(model);
const fn: StepFn = loss ? (m, [v]) => ({ loss: mseLoss(m.call(v!), v!) }) : (m, [v]) => ({ loss: v!.sum(), outputs: { y: m.call(v!) } });
const x = new Rng(1).fillUniform(new Float32Array(images * 784));
const cands = [];
for (const threads of threadCounts) {
  const fg = await ForwardGraph.create(model, [{ name: 'x', shape: [1, 28, 28] }], fn, store, { intraOpThreads: threads, withLoss: loss, layoutOptimizations: process.env.LAYOUT !== 'off' });
  for (const chunk of chunks) cands.push({ fg, threads, chunk, best: Infinity, bestCpu: Infinity });
}
await timeBestOf(cands, roundsArg, 1, async ({ fg, chunk }) => {
  for (let s = 0; s < images; s += chunk) await fg.run([x.subarray(s * 784, Math.min(images, s + chunk) * 784)], Math.min(chunk, images - s));
});
console.log(`${images} images, ${loss ? 'validation (loss)' : 'inference (reconstruction)'} graph; best of ${roundsArg} rounds`);
for (const c of cands) console.log(`${c.threads} thread(s), runs of ${String(c.chunk).padStart(4)}: ${c.best.toFixed(0).padStart(5)} ms a pass, ${Math.round((images / c.best) * 1000)} img/s`);
process.exit(0);
