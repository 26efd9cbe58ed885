// Tabular commands: schema, train-tabular, column-errors, encode-tabular, probe.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { FeatureSet, HeadKind } from '../tasks/tabular/probe.js';
import type { TabularOutput } from '../tasks/tabular/tabular.js';
import { parseNoise } from '../data/noise.js';
import type { CsvOptions } from '../data/tabular/index.js';
import { batchSizeOption, runCommand, epochsOption, floatArg, intArg, lrOption, reportTraining, runFolderOption, typedOptions } from './args.js';
import { formatOf, jsonOption, outputOption, reporter, writeOutput } from './output.js';

const JSON_FILE = { '.json': 'json' } as const;

function listArg(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function sizesArg(v: string): number[] {
  const xs = listArg(v).map(Number);
  if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new InvalidArgumentError(`expected layer sizes like "256,128", got "${v}"`);
  return xs;
}

function noiseArg(v: string) {
  try {
    return parseNoise(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function choice<T extends string>(allowed: readonly T[]) {
  return (v: string): T => {
    if (!allowed.includes(v as T)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  };
}

function subset<T extends string>(allowed: readonly T[]) {
  return (v: string): T[] => {
    const xs = listArg(v);
    for (const x of xs) if (!allowed.includes(x as T)) throw new InvalidArgumentError(`expected a comma-separated subset of ${allowed.join(', ')}, got "${x}"`);
    return xs as T[];
  };
}

/** --stream and its chunk size: read the table in chunks instead of all at once. */
function streamOptions(cmd: Command): Command {
  return cmd
    .option('--stream', 'read the file in chunks (tables larger than memory) instead of all at once')
    .option('--chunk-rows <N>', 'with --stream: rows read per chunk', intArg, 16384);
}

/** Options every command that reads a table shares. */
function tableOptions(cmd: Command): Command {
  return cmd
    .option('--schema <FILE>', 'JSON column types overriding inference, e.g. {"zip": "categorical", "id": "ignore", "income": {"type": "numeric", "transform": "rankgauss"}}')
    .option('--no-header', 'the CSV has no header row (columns are named col1..colN)')
    .option('--skip-lines <N>', 'skip N lines before the header (e.g. 1 for scikit-learn\'s bundled CSVs)', intArg)
    .option('--delimiter <C>', 'CSV field delimiter (default "," or tab for .tsv)')
    .option('--missing <LIST>', 'comma-separated cell texts read as missing (default: empty, NA, N/A, NaN, null, None, ?, ...)')
    .option('--max-categories <N>', 'text columns with more distinct values are ignored as identifiers (default 50)', intArg);
}

function csvOf(o: Record<string, unknown>): CsvOptions {
  return {
    header: o.header as boolean,
    skipLines: o.skipLines as number | undefined,
    delimiter: o.delimiter as string | undefined,
    ...(o.missing !== undefined ? { missingValues: String(o.missing).split(',') } : {}),
  };
}

export function registerTabular(program: Command): void {
  streamOptions(tableOptions(
    program
      .command('schema')
      .argument('<data>', 'CSV or Parquet file')
      .description('infer column types (numeric, binary, categorical, ignore) and missing values of a table')
      .option('--target <COL>', 'leave this column out (the prediction target)')
      .addOption(outputOption('write the schema as JSON (edit it and pass it back with --schema)'))
      .addOption(jsonOption()),
  ))
    .addHelpText('after', `
Examples:
  latentkit schema data.csv
  latentkit schema big.csv --stream                               one pass in chunks, for tables larger than memory
  latentkit schema data.csv --target label -o schema.json      then edit types and use --schema schema.json
  latentkit schema breast_cancer.csv --skip-lines 1 --no-header`)
    .action(async (path: string, o) => {
      const { loadTabular, streamSchema } = await import('../tasks/tabular/tabular.js');
      const { formatSchema } = await import('../data/tabular/index.js');
      if (o.output) formatOf(o.output, JSON_FILE);
      const src = { path, csv: csvOf(o), schemaFile: o.schema, exclude: o.target ? [o.target] : [], maxCategories: o.maxCategories };
      const { table, schema } = o.stream ? await streamSchema(src, o.chunkRows) : await loadTabular(src);
      const say = reporter(o);
      say.result({ source: table.source, rows: table.nRows, columns: table.columns.length, schema }, `${table.source}: ${table.nRows} rows, ${table.columns.length} columns\n${formatSchema(schema)}`);
      if (o.output) {
        writeOutput(o.output, JSON.stringify(schema, null, 2) + '\n');
        say.status(`wrote ${o.output}`);
      }
    });

  const train = tableOptions(
    program
      .command('train-tabular')
      .argument('<data>', 'CSV or Parquet file')
      .description('train an MLP or denoising autoencoder on a table (mixed-type loss, checkpoints, per-column errors)')
      .option('--target <COL>', 'column to leave out of the features (the prediction target)')
      .option('--preset <NAME>', 'mlp, dae-tabular or porto-seguro (RankGauss, DAE 3x1500, swap noise 0.15; default dae-tabular)')
      .option('--config <FILE>', 'JSON model config, e.g. {"preset": "dae-tabular", "hidden": [512], "bottleneck": 512, "noise": [{"kind": "swap", "p": 0.15}], "lr": 0.001}')
      .option('--hidden <SIZES>', 'hidden layer sizes of the encoder, e.g. 256,128', sizesArg)
      .option('--bottleneck <K>', 'code size', intArg)
      .option('--activation <NAME>', 'relu, leaky_relu, tanh, gelu, sigmoid or softplus')
      .option('--dropout <P>', 'dropout after each hidden layer', floatArg)
      .option('--batch-norm', 'BatchNorm1d in every hidden layer')
      .option('--noise <SPEC>', 'DAE corruption: swap:0.15, gaussian:0.1[:LO:HI], masking:0.2, salt-pepper:0.05, joined by +', noiseArg)
      .option('--numeric <T>', 'numeric transform: standard or rankgauss (default standard)', choice(['standard', 'rankgauss', 'none'] as const))
      .addOption(epochsOption())
      .addOption(batchSizeOption())
      .addOption(lrOption())
      .option('--valid-fraction <F>', 'share of rows held out for validation and the per-column report', floatArg, 0.2)
      .option('--seed <N>', 'seed for the split, initialisation, shuffling and noise', intArg, 0)
      .addOption(runFolderOption())
      .addOption(jsonOption())
      .option('--resume', 'continue the run in --out from its last checkpoint')
      .option('--early-stopping <N>', 'stop when valid loss has not improved for N epochs', intArg)
      .option('--threads <N>', 'onnxruntime intra-op threads', intArg, 1)
      .option('--no-progress', 'no progress bar'),
  )
  streamOptions(train)
    .option('--shuffle-buffer <N>', 'with --stream: rows held for shuffling each epoch', intArg, 65536)
    .option('--max-valid-rows <N>', 'with --stream: validation rows kept in memory (the rest of the hashed split is left unused)', intArg, 20000)
    .addHelpText('after', `
Examples:
  latentkit train-tabular data.csv --target label                        a swap-noise DAE (Porto Seguro style)
  latentkit train-tabular data.parquet --preset mlp --bottleneck 8 --out runs/mlp
  latentkit train-tabular claims.csv --target claim --preset porto-seguro --out runs/porto   the Porto Seguro DAE (heavy on a CPU)
  latentkit train-tabular data.csv --numeric rankgauss --noise swap:0.1+gaussian:0.05
  latentkit train-tabular data.csv --config dae.json --schema schema.json
  latentkit train-tabular data.csv --out runs/dae --resume                continue after an interruption
  latentkit train-tabular big.csv --stream --epochs 1 --out runs/big      a table larger than memory, read in chunks`)
    .action(async (path: string, _o, cmd: Command) => {
      const { trainTabular } = await import('../tasks/tabular/tabular.js');
      const { formatColumnErrors } = await import('../data/tabular/index.js');
      const o = typedOptions(cmd);
      const model: Record<string, unknown> = { hidden: o.hidden, bottleneck: o.bottleneck, activation: o.activation, dropout: o.dropout, batchNorm: o.batchNorm, noise: o.noise };
      const r = await trainTabular({
        path, csv: csvOf(o), schemaFile: o.schema, maxCategories: o.maxCategories, target: o.target, preset: o.preset, configFile: o.config, model,
        preprocess: o.numeric ? { numeric: o.numeric } : undefined, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, validFraction: o.validFraction,
        seed: o.seed, out: o.out, resume: o.resume, earlyStopping: o.earlyStopping, threads: o.threads, progress: o.progress,
        stream: o.stream ? { chunkRows: o.chunkRows, shuffleBuffer: o.shuffleBuffer, maxValidRows: o.maxValidRows } : undefined,
      });
      reportTraining(o, r, [
        `per-column reconstruction error (${r.errorsOn} rows):`,
        formatColumnErrors(r.columnErrors),
        '',
        `run folder:     ${r.outDir} (config.json, schema.json, preprocessor.json, column-errors.json, checkpoints/)`,
      ], { columnErrors: r.columnErrors, errorsOn: r.errorsOn });
    });

  streamOptions(tableOptions(
    runCommand(program, 'column-errors', 'per-column reconstruction error of a tabular run on a table', 'train-tabular')
      .argument('<data>', 'CSV or Parquet file with the same columns')
      .addOption(outputOption('also write the errors to this .json file'))
      .addOption(jsonOption()),
  ))
    .addHelpText('after', '\nExamples:\n  latentkit column-errors runs/dae new-rows.csv -o errors.json\n  latentkit column-errors runs/dae big.csv --stream      chunk by chunk, for tables larger than memory')
    .action(async (dir: string, path: string, o) => {
      const { loadTabularRun, tabularRunErrors } = await import('../tasks/tabular/tabular.js');
      const { formatColumnErrors, readTable, streamTable } = await import('../data/tabular/index.js');
      if (o.output) formatOf(o.output, JSON_FILE);
      const run = loadTabularRun(dir, o.checkpoint);
      const source = o.stream ? streamTable(path, { ...csvOf(o), chunkRows: o.chunkRows }) : await readTable(path, csvOf(o));
      const { rows, columns } = await tabularRunErrors(run, source);
      const out = { run: dir, data: path, rows, columns };
      reporter(o).result(out, formatColumnErrors(columns));
      if (o.output) writeOutput(o.output, JSON.stringify(out, null, 2) + '\n');
    });

  streamOptions(tableOptions(
    runCommand(program, 'encode-tabular', 'codes, stacked DAE features or reconstructions of every row, as CSV or Parquet', 'train-tabular')
      .argument('<data>', 'CSV or Parquet file with the same columns')
      .option('--what <KIND>', 'code, features (all hidden layers, concatenated) or recon (in the columns\' own units and categories)', choice(['code', 'features', 'recon'] as const), 'code')
      .option('--standardised', 'recon: the model\'s raw outputs in the preprocessor\'s units (standardised numbers, logits per category) instead')
      .addOption(outputOption('CSV or Parquet file to write (Parquet: one row group per chunk)').makeOptionMandatory())
      .option('--no-progress', 'with --stream: no progress bar'),
  ))
    .addHelpText('after', '\nExamples:\n  latentkit encode-tabular runs/dae data.csv -o codes.csv\n  latentkit encode-tabular runs/dae data.csv --what features -o deep-stack.csv\n  latentkit encode-tabular runs/dae big.csv --stream -o codes.parquet       chunk by chunk, for tables larger than memory')
    .action(async (dir: string, path: string, o) => {
      const { loadTabularRun } = await import('../tasks/tabular/tabular.js');
      const { encodeTable } = await import('../tasks/tabular/encode.js');
      formatOf(o.output, { '.csv': 'csv', '.parquet': 'parquet', '.pq': 'parquet' });
      const run = loadTabularRun(dir, o.checkpoint);
      const output = o.output === '-' ? '/dev/stdout' : o.output;
      const r = await encodeTable({ run, path, csv: csvOf(o), what: o.what as TabularOutput, standardised: o.standardised, output, chunkRows: o.stream ? o.chunkRows : undefined, progress: o.progress });
      reporter(o).status(`wrote ${o.output} (${r.rows} rows x ${r.size} ${o.what} values)`);
    });

  tableOptions(
    program
      .command('probe')
      .argument('<data>', 'CSV or Parquet file')
      .description('k-fold CV of a classifier/regressor on raw columns vs autoencoder codes vs stacked DAE features vs PCA of the same width; every feature set gets the same head search (width, learning rate, weight decay; early stopping on an inner validation split)')
      .requiredOption('--target <COL>', 'column to predict')
      .option('--task <T>', 'auto, classification or regression', choice(['auto', 'classification', 'regression'] as const), 'auto')
      .option('--folds <K>', 'cross-validation folds', intArg, 5)
      .option('--features <LIST>', 'feature sets: raw, bottleneck, dae', subset(['raw', 'bottleneck', 'dae'] as const))
      .option('--heads <LIST>', 'models on top: logreg (logistic/linear regression), mlp', subset(['logreg', 'mlp'] as const))
      .option('--no-pca', 'no PCA baselines')
      .option('--recipe <NAME>', 'porto-seguro: RankGauss, DAE 3x1500 with swap noise 0.15, all 4500 activations as features, MLP heads (raw vs DAE stack)', choice(['porto-seguro'] as const))
      .option('--numeric <T>', 'numeric transform: standard or rankgauss (default standard)', choice(['standard', 'rankgauss', 'none'] as const))
      .option('--bottleneck <K>', 'MLP autoencoder code size (default 8)', intArg)
      .option('--ae-hidden <SIZES>', 'MLP autoencoder hidden sizes (default 64)', sizesArg)
      .option('--ae-epochs <N>', 'MLP autoencoder epochs (default 100)', intArg)
      .option('--dae-hidden <SIZES>', 'DAE layer sizes before its (activated) code layer (default 128)', sizesArg)
      .option('--dae-code <K>', 'DAE code layer width (default 128)', intArg)
      .option('--dae-epochs <N>', 'DAE epochs (default 100)', intArg)
      .option('--noise <SPEC>', 'DAE corruption (default swap:0.15)', noiseArg)
      .option('--head-epochs <N>', 'epochs of the head search (cosine learning-rate decay over them; default 40)', intArg)
      .option('--patience <N>', 'head search: stop a candidate after N epochs without a better validation score (default 10)', intArg)
      .option('--class-weights <MODE>', 'auto (balanced weights when the largest class is over 3x the smallest), balanced or none', choice(['auto', 'balanced', 'none'] as const), 'auto')
      .option('--workers <N>', 'worker threads running (fold, part) tasks (default: one per core; 1 = this thread)', intArg)
      .option('--seed <N>', 'seed for folds, models and noise', intArg, 0)
      .addOption(outputOption('also write all fold scores to this .json file'))
      .addOption(jsonOption()),
  )
    .addHelpText('after', `
Examples:
  latentkit probe data.csv --target label
  latentkit probe breast_cancer.csv --skip-lines 1 --no-header --target col31     scikit-learn's copy (python3-sklearn)
  latentkit probe houses.parquet --target price --heads mlp --features raw,dae -o probe.json
  latentkit probe claims.csv --target claim --recipe porto-seguro                 the Porto Seguro recipe (heavy: 3x1500 DAE)
  latentkit probe claims.csv --target claim --recipe porto-seguro --dae-hidden 256 --dae-code 256   the recipe at CPU size`)
    .action(async (path: string, o) => {
      const { formatProbe, runProbe } = await import('../tasks/tabular/probe.js');
      if (o.output) formatOf(o.output, JSON_FILE);
      const r = await runProbe({
        path, csv: csvOf(o), schemaFile: o.schema, maxCategories: o.maxCategories, target: o.target, task: o.task, folds: o.folds, seed: o.seed,
        features: o.features as FeatureSet[] | undefined, heads: o.heads as HeadKind[] | undefined, pca: o.pca,
        preprocess: o.numeric ? { numeric: o.numeric } : undefined,
        ae: { ...(o.bottleneck ? { bottleneck: o.bottleneck } : {}), ...(o.aeHidden ? { hidden: o.aeHidden } : {}), ...(o.aeEpochs !== undefined ? { epochs: o.aeEpochs } : {}) },
        dae: { ...(o.daeHidden ? { hidden: o.daeHidden } : {}), ...(o.daeCode ? { bottleneck: o.daeCode } : {}), ...(o.daeEpochs !== undefined ? { epochs: o.daeEpochs } : {}), ...(o.noise ? { noise: o.noise } : {}) },
        head: { maxEpochs: o.headEpochs, patience: o.patience, classWeights: o.classWeights },
        workers: o.workers,
        recipe: o.recipe,
      });
      reporter(o).result(r, formatProbe(r));
      if (o.output) writeOutput(o.output, JSON.stringify(r, null, 2) + '\n');
    });
}
