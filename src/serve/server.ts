// The HTTP service: a trained run behind /embed, /reconstruct, /score, /search, /health and
// /metrics, plus /generate for models with a prior (VAEs) (fastify). Inference runs in worker threads with micro-batching (pool.ts), so
// concurrent requests share onnxruntime calls and the HTTP thread never blocks on a model.
//
// Bodies: JSON {"images": [[...784 numbers], ...]} (nested [1][28][28] or [28][28] also fine),
// {"png": ["<base64>", ...]}, one image as image/png (or JPEG, WebP...), or raw little-endian
// float32 samples as application/octet-stream. Answers are JSON, or with Accept: image/png
// (reconstruct) or application/octet-stream (embed, reconstruct) binary.
import Fastify, { type FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { Server as NetServer } from 'node:net';
import { loadRun } from '../train/run-folder.js';
import { ImageDecodeError } from '../data/image-file.js';
import { EmbeddingSearch, resolveEmbeddings } from '../tasks/embed/search.js';
import { VariationalAutoencoder } from '../models/vae.js';
import { Metrics } from './metrics.js';
import { answerHelpers } from './answers.js';
import { HttpError, redactPaths, STATUS_NAMES } from './http-error.js';
import { InferencePool, OverloadedError, type PoolOptions } from './pool.js';
import { onStopSignal } from '../util/stop-signals.js';
import { sampleReader } from './request-samples.js';
import { installValidation, routeSchemas } from './schemas.js';
import type { RouteContext } from './routes/context.js';
import { embedRoutes } from './routes/embed.js';
import { generateRoutes } from './routes/generate.js';
import { healthRoutes } from './routes/health.js';
import { reconstructRoutes } from './routes/reconstruct.js';
import { scoreRoutes } from './routes/score.js';
import { searchRoutes } from './routes/search.js';

export interface ServeOptions extends PoolOptions {
  port?: number;
  host?: string;
  /** Largest request body in bytes (default 8 MiB). */
  bodyLimit?: number;
  /** Most samples in one request (default 256, and never above maxBatch). */
  maxRequestBatch?: number;
  /** Largest k for /search (default 100). */
  maxK?: number;
  /**
   * Embeddings for /search: a Parquet file written by `embed` (its index beside it); default
   * the run's latest; false for none.
   */
  index?: string | false;
  /** Anomaly threshold for /score (samples above it are flagged). */
  threshold?: number;
  /** fastify's request log on stdout (default off). */
  logger?: boolean;
  /** Required as `Authorization: Bearer TOKEN` on every request when set. */
  token?: string;
  /** Allow binding beyond localhost without a token. */
  insecure?: boolean;
  /** Most open connections (default 1024); more are closed at once. */
  maxConnections?: number;
  /** Largest JSON answer in bytes, estimated before it is built (default 64 MiB); binary answers are bounded by the request's samples. */
  maxAnswerBytes?: number;
  /** Most image pixels decoded for one request, all images together (default 64 Mi). */
  maxPixelsPerRequest?: number;
  /** Slow-client limits in ms: headers, whole request (body included), idle keep-alive, idle socket. */
  timeouts?: { headersMs?: number; requestMs?: number; keepAliveMs?: number; connectionMs?: number };
}

export interface Service {
  app: FastifyInstance;
  pool: InferencePool;
  search?: EmbeddingSearch;
  /** Stop accepting requests, finish those in flight, stop the workers. */
  close(): Promise<void>;
}

/** Build the service (not listening yet; see serve()). */
export async function createService(runDir: string, opts: ServeOptions = {}): Promise<Service> {
  const run = loadRun(runDir, opts.checkpoint ?? 'best');
  const pool = await InferencePool.create(runDir, opts);
  let search: EmbeddingSearch | undefined;
  if (opts.index !== false) {
    try {
      search = await EmbeddingSearch.open(resolveEmbeddings(runDir, opts.index));
    } catch (e) {
      if (opts.index) {
        await pool.close();
        throw e;
      }
      // No embeddings yet: /search answers 404 until the service is started with some.
    }
    if (search && search.embeddings.dim !== pool.codeSize) {
      await pool.close();
      throw new Error(`${search.parquet}: codes of ${search.embeddings.dim} values, but this run's codes have ${pool.codeSize}; embed with this run first`);
    }
  }
  const inputShape = pool.inputShape;
  const inputSize = pool.inputSize;
  const codeSize = pool.codeSize;
  const maxReq = Math.min(opts.maxRequestBatch ?? 256, pool.maxBatch);
  const maxK = opts.maxK ?? 100;
  const bodyLimit = opts.bodyLimit ?? 8 * 1024 * 1024;
  const started = Date.now();
  let closing = false;

  // Shutdown: stop accepting connections, but answer every request that reached us, on
  // connections that then close (see close() below); no 503s or resets for work already sent.
  const t = opts.timeouts ?? {};
  const requestTimeout = t.requestMs ?? 30_000, headersTimeout = Math.min(t.headersMs ?? 10_000, requestTimeout);
  const app = Fastify({
    logger: opts.logger ?? false, bodyLimit, return503OnClosing: false, forceCloseConnections: false,
    // A client that trickles its headers or body, or idles, is cut off (408 or closed). Node
    // checks these limits every connectionsCheckingInterval (30 s by default), so check as often
    // as the shortest limit needs.
    serverFactory: (handler) => {
      const server = createServer({ requestTimeout, headersTimeout, keepAliveTimeout: t.keepAliveMs ?? 5_000, connectionsCheckingInterval: Math.max(100, Math.min(headersTimeout, requestTimeout) / 4) }, handler);
      server.setTimeout(t.connectionMs ?? 60_000, (socket) => socket.destroy());
      server.maxConnections = opts.maxConnections ?? 1024;
      return server;
    },
  });
  const maxPixels = opts.maxPixelsPerRequest ?? 64 * 1024 * 1024;
  const expectedAuth = opts.token ? Buffer.from(`Bearer ${opts.token}`) : undefined;
  let lastRequestAt = 0;
  app.addHook('onRequest', async (req, reply) => {
    lastRequestAt = Date.now();
    if (closing) void reply.header('connection', 'close');
    if (expectedAuth) {
      const given = Buffer.from(String(req.headers.authorization ?? ''));
      // Constant-time comparison: the answer time does not leak how much of the token matched.
      if (given.length !== expectedAuth.length || !timingSafeEqual(given, expectedAuth)) {
        void reply.header('www-authenticate', 'Bearer');
        throw new HttpError(401, 'missing or wrong bearer token: send "Authorization: Bearer TOKEN"');
      }
    }
  });
  const metrics = new Metrics();
  metrics.gauge('latentkit_inference_queue_samples', 'Samples waiting for an executor.', () => pool.stats().queuedSamples);
  metrics.gauge('latentkit_inference_busy_executors', 'Executors running a batch now.', () => pool.stats().busy);
  metrics.gauge('latentkit_inference_executors', 'Inference executors (worker threads).', () => pool.stats().executors);
  metrics.counter('latentkit_inference_batches_total', 'onnxruntime calls made.', () => pool.stats().batches);
  metrics.counter('latentkit_inference_samples_total', 'Samples run through the model.', () => pool.stats().samples);
  metrics.counter('latentkit_inference_worker_restarts_total', 'Inference workers replaced after a crash.', () => pool.stats().restarts);
  metrics.gauge('process_resident_memory_bytes', 'Resident memory of the process.', () => process.memoryUsage().rss);

  // Binary bodies: images (decoded by sharp) and raw float32. Plain text is not an input.
  app.removeContentTypeParser('text/plain');
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+$/])
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    let status = err.statusCode ?? 500;
    let message = err.message;
    if (err instanceof ImageDecodeError) status = 400;
    if (err instanceof OverloadedError) status = 503;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body exceeds the limit of ${bodyLimit} bytes`;
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = `unsupported Content-Type "${req.headers['content-type'] ?? ''}"; send application/json, image/png (or another image type) or application/octet-stream (raw float32)`;
    if (status >= 500 && !(err instanceof OverloadedError)) {
      req.log.error(err);
      message = `internal error: ${err.message}`;
    }
    void reply.code(status).send({ error: STATUS_NAMES[status] ?? 'Error', statusCode: status, message: redactPaths(message) });
  });
  const hasPrior = run.model instanceof VariationalAutoencoder;
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'Not Found', statusCode: 404, message: `no route ${req.method} ${req.url.split('?')[0]}; routes: GET /health, GET /metrics, POST /embed, /reconstruct, /score, /search${hasPrior ? ', /generate' : ''}` });
  });

  installValidation(app);
  const reader = sampleReader({ inputShape, inputSize, maxReq, maxPixels });
  const answers = answerHelpers(inputShape, opts.maxAnswerBytes ?? 64 * 2 ** 20);

  // Routes: one module each (serve/routes/), sharing the run, the pool and the request helpers.
  const ctx: RouteContext = {
    pool, search, opts, inputShape, inputSize, codeSize, maxK, maxReq, bodyLimit, runDir, run, hasPrior, started, metrics, schemas: routeSchemas({ codeSize, maxK }),
    ...reader, ...answers, isClosing: () => closing,
  };
  for (const routes of [healthRoutes, embedRoutes, reconstructRoutes, scoreRoutes, searchRoutes]) routes(app, ctx);
  if (hasPrior) generateRoutes(app, ctx);

  return {
    app,
    pool,
    search,
    async close() {
      if (closing) return;
      closing = true;
      // Stop accepting at once. http's server.close() would also destroy connections with no
      // request in progress, including those whose request is sent but not yet read (the client
      // sees a reset), so only the listening socket is closed here (net.Server's close). Then
      // drain: answers carry Connection: close, /health says 503, until no request has started
      // for 300 ms (at most 3 s); then close the rest.
      // net.Server emits 'close' once the listening socket is closed AND every connection has
      // ended: that, not app.close() (which returns at once on a server no longer listening),
      // is when every request in flight has been answered.
      const drained = new Promise<void>((resolve) => app.server.once('close', () => resolve()));
      if (app.server.listening) NetServer.prototype.close.call(app.server);
      const t0 = Date.now();
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await sleep(300);
      while (Date.now() - lastRequestAt < 300 && Date.now() - t0 < 3000) await sleep(50);
      // Keep-alive connections that become idle later would hold the server open: close them.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 250);
      try {
        await Promise.race([drained, sleep(8000)]);
        await app.close();
      } catch (e) {
        // The listening socket is already closed (above): that is not a failure.
        if ((e as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') throw e;
      } finally {
        clearInterval(sweep);
      }
      await pool.close();
    },
  };
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export interface RunningService extends Service {
  url: string;
}

/** Listen on host:port; SIGTERM and SIGINT shut down gracefully (in-flight requests finish). */
export async function serve(runDir: string, opts: ServeOptions = {}, onLog: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<RunningService> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.token && !opts.insecure)
    throw new Error(`--host ${host} exposes the service beyond this machine: give a token (--token or LATENTKIT_TOKEN) that clients send as "Authorization: Bearer TOKEN", or --insecure to serve without one`);
  const svc = await createService(runDir, opts);
  const url = await svc.app.listen({ port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1' });
  onStopSignal((signal) => {
    onLog(`${signal}: finishing requests in flight, then exiting`);
    const force = setTimeout(() => {
      onLog('shutdown took over 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    svc.close().then(
      () => process.exit(0),
      (e) => {
        onLog(`shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  });
  return { ...svc, url };
}
