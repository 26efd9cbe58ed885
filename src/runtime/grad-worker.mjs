// Data-parallel gradient worker (plain JS so it runs in a worker thread without a TS loader).
// It owns one onnxruntime session of the gradient graph; each step brings the current
// parameters, its share of the batch and of the random draws (grad-worker-client.ts).
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

// `options` comes from ort.ts's sessionOptions(), as for the main thread's sessions; replies
// go out on `replies`, a port the main thread can poll.
const { model, options, replies, spinMs } = workerData;
const session = await ort.InferenceSession.create(new Uint8Array(model), options);
async function handle({ id, inputs, outputs }) {
  try {
    const feeds = {};
    for (const { name, data, dims, dtype } of inputs) feeds[name] = new ort.Tensor(dtype, data, dims);
    const r = await session.run(feeds, outputs);
    const result = {};
    const spare = {};
    const transfer = new Set();
    // Transfer the outputs, no copy (a set: small outputs may share one buffer).
    for (const name of outputs) {
      result[name] = r[name].data;
      transfer.add(r[name].data.buffer);
    }
    // The inputs go back for the next step's copies (recycled, not reallocated).
    for (const { name, data } of inputs) {
      spare[name] = data;
      transfer.add(data.buffer);
    }
    replies.postMessage({ id, result, spare }, [...transfer]);
  } catch (e) {
    replies.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
}

// After a job, poll for the next one for `spinMs` before sleeping in the event loop: waking a
// sleeping thread cost ~0.2 ms a step here (DESIGN.md, "Waking threads").
parentPort.on('message', async (job) => {
  await handle(job);
  for (let until = performance.now() + spinMs; performance.now() < until; ) {
    const next = receiveMessageOnPort(parentPort);
    if (next) {
      await handle(next.message);
      until = performance.now() + spinMs;
    }
  }
});
parentPort.postMessage({ ready: true });
