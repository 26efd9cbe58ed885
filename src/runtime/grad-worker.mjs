// Data-parallel gradient worker (plain JS so it runs in a worker thread without a TS loader).
// It owns one onnxruntime session of the gradient graph; each step brings the current
// parameters, its share of the batch and of the random draws. (onnxruntime-node refuses
// tensors on SharedArrayBuffers, so parameters are sent as transferred copies.)
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const { model, threads } = workerData;
const session = await ort.InferenceSession.create(new Uint8Array(model), {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
parentPort.on('message', async ({ id, inputs, outputs }) => {
  try {
    const feeds = {};
    for (const { name, data, dims, dtype } of inputs) feeds[name] = new ort.Tensor(dtype, data, dims);
    const r = await session.run(feeds, outputs);
    const result = {};
    const transfer = [];
    for (const name of outputs) {
      const data = r[name].data.slice(); // own buffer, transferable
      result[name] = data;
      transfer.push(data.buffer);
    }
    parentPort.postMessage({ id, result }, transfer);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
});
parentPort.postMessage({ ready: true });
