// A probe worker thread: runs (fold, part) tasks of `latentkit probe` one at a time, so the
// probe's onnxruntime sessions run on every core (onnxruntime-node's run blocks its thread).
import { parentPort } from 'node:worker_threads';
import { runProbeTask, type ProbeTask } from './probe.js';

parentPort!.on('message', async (t: ProbeTask) => {
  try {
    const result = await runProbeTask(t);
    parentPort!.postMessage({ result });
  } catch (e) {
    parentPort!.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
