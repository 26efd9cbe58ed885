// The Tensor everything outside graph/ builds with. Importing it registers every primitive's
// shape and gradient rule (ops/*.ts); the op modules themselves import ./tensor-core.js, so the
// registration is not an import cycle.
import './ops/index.js';

export * from './tensor-core.js';
