// Autoencoders on tables: load a CSV/Parquet file with its schema, fit the preprocessing on the
// training rows, train an MLP or denoising autoencoder with the mixed-type loss through the
// Trainer (checkpoints, metrics, resume), and report per-column reconstruction errors.
// A run folder holds what is needed to use the model on new rows: config.json (model config),
// schema.json, preprocessor.json and checkpoints/{best,last}.safetensors.
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { writeFileAtomic } from '../../util/atomic.js';
import { arrayDataset } from '../../data/dataset.js';
import { DataLoader, randomSplit, type BatchSource } from '../../data/loader.js';
import { noiseFeeds, type NoiseSpec } from '../../data/noise.js';
import {
  columnErrors, ColumnErrorTotals, inferSchema, inferSchemaFrom, readSchemaOverrides, readTable, tabularReconstructionLoss, TabularPreprocessor,
  type ColumnError, type CsvOptions, type PreprocessOptions, type RawTable, type SchemaOverrides, type TableHead, type TableSchema, type TabularLayout,
} from '../../data/tabular/index.js';
import type { Tensor } from '../../graph/tensor.js';
import type { Autoencoder } from '../../models/conv-autoencoder.js';
import { DenoisingAutoencoder } from '../../models/denoising.js';
import { MLPAutoencoder } from '../../models/mlp-autoencoder.js';
import { buildModel, getPreset, readModelConfig, type ModelConfig, type TrainDefaults } from '../../models/presets.js';
import '../../models/tabular-presets.js';
import { manualSeed } from '../../nn/init.js';
import type { Module } from '../../nn/module.js';
import { makeOptimizer } from '../../optim/optimizer.js';
import { ForwardGraph, ParamStore, type InputSpec, type StepFn } from '../../runtime/compile.js';
import { Trainer, withRunLock, type TrainResult } from '../../train/trainer.js';
import { readJsonFile } from '../../data/json-file.js';
import { checkResume, flagName, givenSettings, readRunConfig, type Overrides } from '../../train/resume.js';
import { readRunModel, trialDir, type RunBase } from '../../train/run-folder.js';

export interface TabularSource {
  path: string;
  csv?: CsvOptions;
  /** JSON overrides file (see readSchemaOverrides) and/or overrides given directly. */
  schemaFile?: string;
  overrides?: SchemaOverrides;
  /** Columns left out of the features (the target, identifiers). */
  exclude?: string[];
  maxCategories?: number;
}

export async function loadTabular(src: TabularSource): Promise<{ table: RawTable; schema: TableSchema }> {
  const table = await readTable(src.path, src.csv);
  checkColumns(src.path, table.columns, src.exclude ?? []);
  const schema = inferSchema(table, { overrides: schemaOverrides(src), exclude: src.exclude, maxCategories: src.maxCategories });
  return { table, schema };
}

/** A table's schema from one pass in chunks: the table is never held whole. */
export async function streamSchema(src: TabularSource, chunkRows?: number): Promise<{ table: TableHead; schema: TableSchema }> {
  const { ColumnStats, keyCap } = await import('../../data/tabular/column-stats.js');
  const { streamTable } = await import('../../data/tabular/table-stream.js');
  const stats = new ColumnStats(src.path, { numeric: false, maxKeys: keyCap(src.maxCategories) });
  for await (const chunk of streamTable(src.path, { ...src.csv, chunkRows })) stats.add(chunk);
  checkColumns(src.path, stats.columns, src.exclude ?? []);
  return { table: stats, schema: inferSchemaFrom(stats, stats.summaries(), { overrides: schemaOverrides(src), exclude: src.exclude, maxCategories: src.maxCategories }) };
}

/** The schema file's types, then those given in code, which win. */
function schemaOverrides(src: TabularSource): SchemaOverrides {
  return { ...(src.schemaFile ? readSchemaOverrides(src.schemaFile) : {}), ...src.overrides };
}

/** Columns named on the command line must exist. */
export function checkColumns(source: string, columns: string[], names: string[]): void {
  for (const c of names) if (!columns.includes(c)) throw new Error(`${source}: no column ${JSON.stringify(c)}; columns are: ${columns.map((n) => JSON.stringify(n)).join(', ')}`);
}

/** True for models trained on (noisy, clean) pairs. */
export function isDenoising(m: Module): m is DenoisingAutoencoder {
  return m instanceof DenoisingAutoencoder;
}

/** The objective: mixed-type reconstruction of the clean rows (from noisy ones for a DAE). */
export function tabularStep(layout: TabularLayout, denoising: boolean): { inputs: InputSpec[]; step: StepFn } {
  const W = layout.width;
  if (denoising)
    return {
      inputs: [{ name: 'noisy', shape: [W] }, { name: 'clean', shape: [W] }],
      step: (m, [noisy, clean]) => tabularReconstructionLoss(m.call(noisy!) as Tensor, clean!, layout),
    };
  return { inputs: [{ name: 'x', shape: [W] }], step: (m, [x]) => tabularReconstructionLoss(m.call(x!) as Tensor, x!, layout) };
}

export interface FitTabularOptions {
  model: Autoencoder;
  layout: TabularLayout;
  /** Training rows (row-major, layout.width each), or batches streamed from a file; optional validation rows. */
  x: Float32Array | BatchSource;
  valid?: Float32Array;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer?: TrainDefaults['optimizer'];
  seed?: number;
  outDir: string;
  resume?: boolean;
  progress?: boolean;
  earlyStopping?: number;
  config?: Record<string, unknown>;
  /** What a resume changed, recorded in config.json. */
  resumeOverrides?: Overrides;
  log?: (line: string) => void;
  threads?: number;
}

/** Train a tabular autoencoder (MLP, or DAE with its noise) through the Trainer. */
export async function fitTabularAutoencoder(o: FitTabularOptions): Promise<TrainResult> {
  const W = o.layout.width;
  const dae = isDenoising(o.model);
  const { inputs, step } = tabularStep(o.layout, dae);
  const inMemory = o.x instanceof Float32Array;
  if (dae && !inMemory && (o.model as DenoisingAutoencoder).noise.some((s) => s.kind === 'swap' && s.from === 'dataset'))
    throw new Error('swap noise from "dataset" needs the whole table in memory; with --stream use swap:P (values from other rows of the batch)');
  const trainer = new Trainer({
    model: o.model,
    inputs,
    step,
    // One-hot groups are swapped or masked as a unit, so a corrupted row stays a valid row.
    feeds: dae ? noiseFeeds((o.model as DenoisingAutoencoder).noise, W, { groups: o.layout.categorical, dataset: inMemory ? o.x as Float32Array : undefined }) : undefined,
    optimizer: makeOptimizer(o.optimizer ?? 'adam', o.lr, 0),
    // dropLast avoids a 1-row final batch (BatchNorm cannot train on one row).
    train: o.x instanceof Float32Array ? arrayLoader(o.x, W, o.batchSize, o.seed ?? 0) : o.x,
    valid: o.valid && o.valid.length ? new DataLoader({ dataset: arrayDataset(o.valid, [W]), batchSize: Math.max(o.batchSize, 256), shuffle: false }) : undefined,
    epochs: o.epochs,
    outDir: o.outDir,
    earlyStopping: o.earlyStopping ? { patience: o.earlyStopping } : undefined,
    resume: o.resume,
    progress: o.progress ?? false,
    seed: o.seed ?? 0,
    session: { intraOpThreads: o.threads ?? 1 },
    config: o.config,
    resumeOverrides: o.resumeOverrides,
    log: o.log,
  });
  try {
    return await trainer.fit();
  } finally {
    await trainer.release();
  }
}

function arrayLoader(x: Float32Array, W: number, batchSize: number, seed: number): DataLoader {
  const n = x.length / W;
  return new DataLoader({ dataset: arrayDataset(x, [W]), batchSize, seed, dropLast: n > batchSize && n % batchSize === 1 });
}

export type TabularOutput = 'code' | 'features' | 'recon';

/** A trained tabular model's graph for codes, DAE stacked features or raw reconstruction scores, reused across calls (chunks). */
export async function tabularEncoder(model: Autoencoder, width: number, what: TabularOutput, batchSize = 1024) {
  if (what === 'features' && !isDenoising(model) && !(model instanceof MLPAutoencoder)) throw new Error('stacked features need an MLP or denoising autoencoder');
  const graph = await ForwardGraph.create(
    model,
    [{ name: 'x', shape: [width] }],
    (m, [t]) => {
      let out: Tensor;
      if (what === 'code') out = (m as Autoencoder).encode(t!).flatten(1);
      else if (what === 'recon') out = m.call(t!) as Tensor;
      else out = isDenoising(m) ? m.features(t!) : (m as MLPAutoencoder).hiddenLayers(t!).reduce((a, b) => a.op('Concat', [b], { axis: 1 }));
      return { loss: out, outputs: { out } };
    },
    new ParamStore(model),
    { withLoss: false },
  );
  return {
    async run(x: Float32Array): Promise<{ data: Float32Array; size: number }> {
      const r = await graph.runRows(x, width, x.length / width, batchSize);
      return { data: r.outputs.out ?? new Float32Array(0), size: r.sizes.out ?? 0 };
    },
    release: () => graph.release(),
  };
}

/** Run a trained tabular model over rows: codes, DAE stacked features, or raw reconstruction scores. */
export async function encodeRows(model: Autoencoder, x: Float32Array, width: number, what: TabularOutput, batchSize = 1024): Promise<{ data: Float32Array; size: number }> {
  const enc = await tabularEncoder(model, width, what, batchSize);
  try {
    return await enc.run(x);
  } finally {
    await enc.release();
  }
}

export interface TrainTabularOptions extends TabularSource {
  /** Column to leave out of the features (the prediction target); optional. */
  target?: string;
  preset?: 'mlp' | 'dae-tabular' | string;
  configFile?: string;
  /** Model config keys (override the config file): hidden, bottleneck, activation, noise... */
  model?: Record<string, unknown>;
  preprocess?: PreprocessOptions;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Share of rows held out for validation (default 0.2; 0 = none). */
  validFraction?: number;
  out?: string;
  resume?: boolean;
  earlyStopping?: number;
  progress?: boolean;
  threads?: number;
  log?: (line: string) => void;
  /** Read the file in chunks (tables larger than memory) instead of all at once. */
  stream?: StreamTrainOptions;
}

export interface StreamTrainOptions {
  chunkRows?: number;
  shuffleBuffer?: number;
  /** Validation rows kept in memory for evaluation and the column report (default 20,000). */
  maxValidRows?: number;
}

/** The data a tabular run trains on, read whole or streamed. */
interface TabularData {
  source: string;
  schema: TableSchema;
  prep: TabularPreprocessor;
  train: Float32Array | BatchSource;
  trainRows: number;
  valid: Float32Array;
  validRows: number;
  /** Rows the column errors are computed on, transformed, with their missing-cell mask. */
  evalX: Float32Array;
  evalMask: Uint8Array;
  errorsOn: 'valid' | 'train';
}

async function memoryData(o: TrainTabularOptions, exclude: string[], seed: number, vf: number, makePrep: (fit: (opts?: PreprocessOptions) => TabularPreprocessor) => TabularPreprocessor): Promise<TabularData> {
  const { table, schema } = await loadTabular({ ...o, exclude });
  const [trainRows, validRows] = vf > 0 ? randomSplit(table.nRows, [1 - vf, vf], seed) : [Int32Array.from({ length: table.nRows }, (_, i) => i), new Int32Array(0)];
  // Fitted on the training rows only.
  const prep = makePrep((opts) => TabularPreprocessor.fit(table, schema, trainRows, opts));
  const x = prep.transform(table, trainRows!), xv = prep.transform(table, validRows!);
  const evalRows = validRows!.length ? validRows! : trainRows!;
  return {
    source: table.source, schema, prep, train: x, trainRows: trainRows!.length, valid: xv, validRows: validRows!.length,
    evalX: validRows!.length ? xv : x, evalMask: prep.missingMask(table, evalRows), errorsOn: validRows!.length ? 'valid' : 'train',
  };
}

async function streamedData(o: TrainTabularOptions, s: StreamTrainOptions, exclude: string[], seed: number, vf: number, batchSize: number, makePrep: (fit: (opts?: PreprocessOptions) => TabularPreprocessor) => TabularPreprocessor): Promise<TabularData> {
  const { statsPass, TableBatches } = await import('./stream.js');
  const overrides = schemaOverrides(o);
  const split = { seed, validFraction: vf };
  const read = { ...o.csv, chunkRows: s.chunkRows };
  const pass = await statsPass(o.path, { ...read, ...split, overrides, exclude, maxCategories: o.maxCategories, maxEvalRows: s.maxValidRows, progress: o.progress, log: o.log ?? ((l: string) => process.stderr.write(`${l}\n`)) });
  checkColumns(o.path, pass.train.columns, exclude);
  const prep = makePrep((opts) => TabularPreprocessor.fitStats(pass.train, pass.schema, opts));
  const evalX = pass.evalRows ? prep.transform(pass.evalRows) : new Float32Array(0);
  const evalMask = pass.evalRows ? prep.missingMask(pass.evalRows) : new Uint8Array(0);
  const train = new TableBatches(o.path, { ...read, ...split, prep, batchSize, shuffleBuffer: s.shuffleBuffer, rows: pass.trainRows });
  const hasValid = vf > 0 && pass.validRows > 0;
  return {
    source: o.path, schema: pass.schema, prep, train, trainRows: pass.trainRows, valid: hasValid ? evalX : new Float32Array(0), validRows: hasValid ? evalX.length / prep.width : 0,
    evalX, evalMask, errorsOn: hasValid ? 'valid' : 'train',
  };
}

export interface TrainTabularResult extends TrainResult {
  model: Autoencoder;
  prep: TabularPreprocessor;
  schema: TableSchema;
  columnErrors: ColumnError[];
  /** Rows the column errors were computed on ('valid' or 'train' when there is no valid split). */
  errorsOn: 'valid' | 'train';
}

export async function trainTabular(o: TrainTabularOptions): Promise<TrainTabularResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const exclude = [...(o.exclude ?? []), ...(o.target ? [o.target] : [])];
  const outDir = o.out ?? trialDir('logs', o.resume);
  const prepPath = join(outDir, 'preprocessor.json');
  const resumed = o.resume ? resumeTabularOptions(outDir, o) : undefined;
  const seed = resumed ? (resumed.run.seed as number) : (o.seed ?? 0);
  const vf = resumed ? (resumed.run.validFraction as number) : (o.validFraction ?? 0.2);
  const fromFile = resumed?.fromFile ?? (o.configFile ? readModelConfig(o.configFile) : undefined);
  const presetName = resumed ? resumed.fromFile.model.preset : (fromFile?.model.preset ?? o.preset ?? 'dae-tabular');
  const preset = getPreset(presetName);
  // A preset may bring its own numeric transform (porto-seguro: RankGauss); --numeric wins.
  const preprocess = preset.tabularNumeric && !o.preprocess?.numeric ? { ...o.preprocess, numeric: preset.tabularNumeric } : o.preprocess;
  // A resumed run reuses the saved preprocessor.
  const makePrep = (fit: (opts?: PreprocessOptions) => TabularPreprocessor) => (resumed ? TabularPreprocessor.load(prepPath) : fit(preprocess));
  const d = { ...preset.defaults, ...fromFile?.train };
  const batchSize = resumed ? d.batchSize : (o.batchSize ?? d.batchSize);
  const data = o.stream ? await streamedData(o, o.stream, exclude, seed, vf, batchSize, makePrep) : await memoryData(o, exclude, seed, vf, makePrep);
  const { schema, prep } = data;
  if (resumed) checkSameSchema(outDir, schema);

  const modelConfig: ModelConfig = resumed
    ? resumed.fromFile.model
    : { ...(fromFile?.model ?? { preset: presetName }), ...(o.preset && !fromFile ? { preset: o.preset } : {}), ...o.model, inputSize: prep.width };
  for (const [k, v] of Object.entries(modelConfig)) if (v === undefined) delete modelConfig[k];
  for (const k of Object.keys(modelConfig)) if (k !== 'preset' && !preset.options.includes(k)) throw new Error(`preset ${modelConfig.preset} has no option "${k}"; options: ${preset.options.join(', ')}`);
  const hp = { lr: o.lr ?? d.lr, batchSize, epochs: o.epochs ?? d.epochs, optimizer: d.optimizer };
  manualSeed(seed);
  const model = buildModel(modelConfig);
  // Locked from the first write (schema.json) to the last (column-errors.json).
  return withRunLock(outDir, log, async () => {
    // A resume keeps the run's schema and preprocessor as they are.
    if (!resumed) {
      writeFileAtomic(join(outDir, 'schema.json'), JSON.stringify(schema, null, 2) + '\n');
      prep.save(prepPath);
    }
    log(`training ${modelConfig.preset} (${model.numParameters()} parameters) on ${data.trainRows} rows x ${prep.width} features from ${data.source}${o.stream ? ' (streamed)' : ''}, validating on ${data.validRows}; lr ${hp.lr}, batch ${hp.batchSize}, ${hp.epochs} epochs -> ${outDir}`);
    const result = await fitTabularAutoencoder({
      model, layout: prep.layout, x: data.train, valid: data.valid, epochs: hp.epochs, batchSize: hp.batchSize, lr: hp.lr, optimizer: hp.optimizer, seed, outDir,
      resume: o.resume, progress: o.progress, earlyStopping: o.earlyStopping, threads: o.threads, log,
      config: { ...resumed?.run, model: modelConfig, ...hp, dataset: data.source, target: resumed ? resumed.run.target : o.target, kind: 'tabular', validFraction: vf, preprocess: prep.state.options, ...(o.stream ? { stream: o.stream } : {}) },
      resumeOverrides: resumed?.overrides,
    });
    const evalCount = data.evalX.length / prep.width;
    const { data: scores } = await encodeRows(model, data.evalX, prep.width, 'recon');
    const errs = columnErrors(prep, data.evalX, scores, evalCount, data.evalMask);
    // Never NaN in the report with exit code 0.
    const bad = errs.find((e) => Object.values(e).some((v) => typeof v === 'number' && !Number.isFinite(v)));
    if (bad) throw new Error(`${data.source}: column ${JSON.stringify(bad.column)}: its reconstruction error is not a finite number (${JSON.stringify(bad)}); checkpoints are in ${outDir}, but look for extreme values in this column`);
    writeFileAtomic(join(outDir, 'column-errors.json'), JSON.stringify({ rows: data.errorsOn, count: evalCount, columns: errs }, null, 2) + '\n');
    return { ...result, model, prep, schema, columnErrors: errs, errorsOn: data.errorsOn };
  });
}

/** A tabular resume: the run's config.json decides the model, split and preprocessing. */
function resumeTabularOptions(outDir: string, o: TrainTabularOptions) {
  const run = readRunConfig(outDir);
  const model = run.model as ModelConfig;
  // How the file is read (whole or in chunks) is not part of the run: a resume may change it.
  const { configFile, model: modelFlags, preprocess, path, csv: _csv, schemaFile: _schema, overrides: _ov, exclude: _ex, maxCategories: _mc, stream: _stream, ...rest } = o;
  const runOptions: Record<string, unknown> = { ...run, preset: model.preset };
  const settings = givenSettings(rest, runOptions);
  for (const [k, v] of Object.entries(modelFlags ?? {})) if (v !== undefined) settings.push({ key: k, label: flagName(k), given: v, run: model[k] });
  if (preprocess?.numeric !== undefined) settings.push({ key: 'numeric', label: '--numeric', given: preprocess.numeric, run: (run.preprocess as PreprocessOptions | undefined)?.numeric ?? 'standard' });
  if (run.dataset !== undefined) settings.push({ key: 'data', label: 'data file', given: resolve(path), run: resolve(String(run.dataset)) });
  if (configFile) {
    const file = readModelConfig(configFile);
    for (const [k, v] of Object.entries(file.model)) settings.push({ key: k, label: `--config ${configFile} (${k})`, given: v, run: model[k] });
    for (const [k, v] of Object.entries(file.train)) settings.push({ key: k, label: `--config ${configFile} (${k})`, given: v, run: run[k] });
  }
  const overrides = checkResume(outDir, settings);
  const train = { lr: run.lr, batchSize: run.batchSize, epochs: run.epochs, optimizer: run.optimizer } as Partial<TrainDefaults>;
  return { run, overrides, fromFile: { model: { ...model }, train } };
}

/** The table read for a resume must have the schema the run was trained with. */
function checkSameSchema(outDir: string, schema: TableSchema): void {
  const path = join(outDir, 'schema.json');
  const saved = readJsonFile<TableSchema>(path, 'table schema');
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(schema)), saved))
    throw new Error(`${path}: the table given to --resume does not have the run's schema (columns or types differ); resume with the same file and table options, or train into a new --out folder`);
}

export interface TabularRun extends RunBase {
  model: Autoencoder;
  prep: TabularPreprocessor;
}

/** A run written by trainTabular: the model with its best (or last) weights and its preprocessor. */
export function loadTabularRun(dir: string, checkpoint: 'best' | 'last' = 'best'): TabularRun {
  const { config, modelConfig, model } = readRunModel(dir, checkpoint, 'train-tabular', ['preprocessor.json']);
  return { dir, model: model as Autoencoder, prep: TabularPreprocessor.load(join(dir, 'preprocessor.json')), modelConfig, config };
}

/** Per-column errors of a run on a table, or on a table streamed in chunks (one chunk in memory at a time; one graph for all). */
export async function tabularRunErrors(run: TabularRun, source: RawTable | AsyncIterable<RawTable>): Promise<{ rows: number; columns: ColumnError[] }> {
  const totals = new ColumnErrorTotals(run.prep);
  const enc = await tabularEncoder(run.model, run.prep.width, 'recon');
  let rows = 0;
  try {
    for await (const table of Symbol.asyncIterator in source ? source : [source]) {
      const x = run.prep.transform(table);
      totals.add(x, (await enc.run(x)).data, table.nRows, run.prep.missingMask(table));
      rows += table.nRows;
    }
  } finally {
    await enc.release();
  }
  return { rows, columns: totals.result() };
}

export type { NoiseSpec };
