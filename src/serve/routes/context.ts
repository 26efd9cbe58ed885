// What every route module is given: the run, the inference pool, the limits and the request /
// answer helpers of server.ts.
import type { EmbeddingSearch } from '../../tasks/embed/search.js';
import type { LoadedRun } from '../../train/run-folder.js';
import type { Answers } from '../answers.js';
import type { Metrics } from '../metrics.js';
import type { InferencePool } from '../pool.js';
import type { sampleReader } from '../request-samples.js';
import type { RouteSchemas } from '../schemas.js';
import type { ServeOptions } from '../server.js';

export interface RouteContext extends ReturnType<typeof sampleReader>, Answers {
  pool: InferencePool;
  search?: EmbeddingSearch;
  opts: ServeOptions;
  inputShape: readonly number[];
  inputSize: number;
  codeSize: number;
  maxK: number;
  maxReq: number;
  bodyLimit: number;
  runDir: string;
  run: LoadedRun;
  hasPrior: boolean;
  /** Date.now() when the service was built. */
  started: number;
  metrics: Metrics;
  /** JSON Schemas of the routes' bodies and query strings. */
  schemas: RouteSchemas;
  /** Whether shutdown has begun (answers then carry Connection: close; /health says 503). */
  isClosing(): boolean;
}
