// The serve command: the HTTP service of src/serve/.
import type { Command } from 'commander';
import { runCommand, floatArg, intArg, positiveInt } from './args.js';

export function registerServe(program: Command): void {
  runCommand(program, 'serve', 'HTTP service: /embed, /reconstruct, /score, /search, /health, /metrics (and /generate for VAEs)')
    .option('-p, --port <N>', 'port (0 picks a free one)', intArg, 8080)
    .option('--host <HOST>', 'address to bind', '127.0.0.1')
    .option('--workers <N>', 'inference worker threads (0: in the HTTP thread)', intArg)
    .option('--index <PATH>', 'embeddings for /search (default the run\'s latest from embed)')
    .option('--no-index', 'serve without /search')
    .option('--threshold <X>', '/score flags samples above this reconstruction MSE', floatArg)
    .option('--max-batch <N>', 'most samples in one request, and in one merged onnxruntime call', positiveInt, 256)
    .option('--body-limit <BYTES>', 'largest request body', positiveInt, 8 * 1024 * 1024)
    .option('--log', 'log each request (JSON lines on stdout)')
    .option('--token <TOKEN>', 'require "Authorization: Bearer TOKEN" on every request (default: LATENTKIT_TOKEN; required with a --host beyond localhost)')
    .option('--insecure', 'allow a --host beyond localhost without a token')
    .option('--max-connections <N>', 'most open connections', positiveInt, 1024)
    .option('--max-answer-bytes <BYTES>', 'largest JSON answer (estimated before it is built; ask for application/octet-stream for more)', positiveInt, 64 * 2 ** 20)
    .addHelpText('after', `
Bodies: JSON {"images": [[...784 numbers...]]} or {"png": ["<base64>"]}; one image as
Content-Type image/png; raw float32 samples as application/octet-stream. Accept: image/png
(reconstruct, generate) or application/octet-stream (embed, reconstruct, generate) for binary
answers. VAE runs also answer POST /generate {"n": 16, "seed": 0, "std": 1} (samples from the prior).

Examples:
  latentkit serve logs/trial_0_autoencoder --port 8080
  curl -s localhost:8080/health
  curl -s -H 'Content-Type: image/png' --data-binary @shoe.png localhost:8080/embed
  curl -s -H 'Content-Type: image/png' -H 'Accept: image/png' --data-binary @shoe.png localhost:8080/reconstruct -o recon.png
  curl -s -H 'Content-Type: application/json' -d '{"id": 42, "k": 5}' localhost:8080/search`)
    .action(async (dir: string, o) => {
      const { serve } = await import('../serve/server.js');
      const s = await serve(dir, {
        port: o.port, host: o.host, workers: o.workers, index: o.index === true ? undefined : o.index, threshold: o.threshold, maxBatch: o.maxBatch, maxRequestBatch: o.maxBatch,
        bodyLimit: o.bodyLimit, logger: !!o.log, checkpoint: o.checkpoint, token: o.token ?? (process.env.LATENTKIT_TOKEN || undefined), insecure: !!o.insecure, maxConnections: o.maxConnections, maxAnswerBytes: o.maxAnswerBytes,
      });
      const st = s.pool.stats();
      process.stderr.write(`latentkit serve: ${dir} on ${s.url} (${st.executors} inference ${st.executors === 1 ? 'executor' : 'executors'}${s.search ? `, /search over ${s.search.embeddings.n} codes` : ', no /search index'})\n`);
    });
}
