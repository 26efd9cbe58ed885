// Tabular data: reading (CSV, Parquet), schema inference, preprocessing, the mixed-type loss,
// per-column error reports, targets and folds.
export * from './table.js';
export * from './table-stream.js';
export * from './column-stats.js';
export * from './schema.js';
export * from './preprocess.js';
export * from './loss.js';
export * from './report.js';
export * from './target.js';
