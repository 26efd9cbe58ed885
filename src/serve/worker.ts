// An inference worker thread: loads a run, compiles its encode/forward/decode graphs and
// answers batches. onnxruntime-node's `run` blocks the thread it runs on, so the HTTP thread
// hands the work to workers like this one and stays responsive.
import { parentPort, workerData } from 'node:worker_threads';
import { loadRun } from '../train/run-folder.js';
import { AutoencoderRunner, type InferenceOp } from '../runtime/inference.js';

export interface WorkerInit {
  runDir: string;
  checkpoint: 'best' | 'last';
  threads: number;
  batchSize: number;
}

export type WorkerRequest = { id: number; op: InferenceOp; data: Float32Array; n: number };
export type WorkerReply =
  | { type: 'ready'; inputShape: number[]; codeShape: number[] }
  | { type: 'init-failed'; message: string }
  | { type: 'done'; id: number; codes?: Float32Array; recon?: Float32Array }
  | { type: 'failed'; id: number; message: string };

const port = parentPort!;
const init = workerData as WorkerInit;

async function main(): Promise<void> {
  let runner: AutoencoderRunner;
  try {
    runner = AutoencoderRunner.fromRun(loadRun(init.runDir, init.checkpoint), { threads: init.threads, batchSize: init.batchSize, calibrateLayout: false });
    // Compile every graph now, so the first requests do not pay for it.
    await runner.encode(new Float32Array(runner.inputSize), 1);
    await runner.forward(new Float32Array(runner.inputSize), 1);
    await runner.decode(new Float32Array(runner.codeSize), 1);
  } catch (e) {
    port.postMessage({ type: 'init-failed', message: (e as Error).message } satisfies WorkerReply);
    return;
  }
  port.on('message', (m: WorkerRequest) => {
    void (async () => {
      try {
        let reply: WorkerReply;
        if (m.op === 'encode') reply = { type: 'done', id: m.id, codes: await runner.encode(m.data, m.n) };
        else if (m.op === 'decode') reply = { type: 'done', id: m.id, recon: await runner.decode(m.data, m.n) };
        else reply = { type: 'done', id: m.id, ...(await runner.forward(m.data, m.n)) };
        // The arrays are fresh and ours: move them instead of copying.
        const transfer = reply.type === 'done' ? [reply.codes?.buffer, reply.recon?.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer) : [];
        port.postMessage(reply, transfer);
      } catch (e) {
        port.postMessage({ type: 'failed', id: m.id, message: (e as Error).message } satisfies WorkerReply);
      }
    })();
  });
  port.postMessage({ type: 'ready', inputShape: runner.inputShape, codeShape: runner.codeShape } satisfies WorkerReply);
}

void main();
