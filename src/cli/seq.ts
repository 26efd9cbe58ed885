// `latentkit train-seq`, `latentkit seq-strip` and `latentkit ts-anomaly`: LSTM sequence
// autoencoders (the chapter's Figure 5.2) on Moving Fashion-MNIST and CSV time series.
import type { Command } from 'commander';
import { addOptions, runCommand, countOption, dataDirOption, floatArg, intArg, reportTraining, runFolderOption, trainingOptions, typedOptions } from './args.js';
import { formatOf, jsonOption, outputOption, reporter, writeOutput } from './output.js';

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

export function registerSeq(program: Command): void {
  addOptions(
    program
      .command('train-seq')
      .description('train an LSTM sequence autoencoder: composite model on Moving Fashion-MNIST, or windows of a CSV time series')
      .option('--preset <NAME>', 'lstm-composite-moving (default) or lstm-timeseries (default with --csv)')
      .option('--csv <FILE>', 'time series: CSV with a header row (one row per time step)')
      .option('--columns <LIST>', 'time series: comma-separated columns to use (default: every numeric column)', list)
      .option('--window <N>', 'time series: window length in rows', intArg, 32)
      .option('--stride <N>', 'time series: step between windows', intArg, 1)
      .option('--train-fraction <X>', 'time series: first fraction of rows for training (normalisation is fitted there only)', floatArg, 0.7)
      .option('--frame-size <N>', 'moving: frame side in pixels (32, or 64 as in the paper)', intArg, 32)
      .option('--train-size <N>', 'moving: new training sequences per epoch', intArg, 10000)
      .option('--valid-size <N>', 'moving: validation sequences (fixed)', intArg, 1000)
      .option('--limit-images <N>', 'moving: use only the first N Fashion-MNIST images of each split', intArg)
      .addOption(dataDirOption())
      .option('--hidden <N>', 'LSTM hidden size (the code is 2 x layers x hidden numbers)', intArg)
      .option('--layers <N>', 'LSTM layers', intArg)
      .option('--conditional', 'decoders fed their previous output (teacher forcing in training)')
      .option('--unconditioned', 'decoders fed zeros')
      .option('--future-weight <X>', 'moving: weight of the future-prediction loss', floatArg),
    trainingOptions(),
  )
    .option('--steps <N>', 'stop after N optimizer steps', intArg)
    .option('--seed <N>', 'seed for initialisation, data and shuffling', intArg, 0)
    .addOption(runFolderOption())
    .addOption(jsonOption())
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--threads <N>', 'onnxruntime intra-op threads', intArg, 1)
    .option('--no-progress', 'no progress bar')
    .addHelpText('after', `
Examples:
  latentkit train-seq --epochs 5 --out runs/moving              composite model, Moving Fashion-MNIST 32x32
  latentkit train-seq --frame-size 64 --hidden 512 --out runs/m64
  latentkit train-seq --unconditioned --future-weight 0.5
  latentkit train-seq --csv weather.csv --columns temp_max,temp_min,wind --window 30 --out runs/ts
  latentkit seq-strip runs/moving -o strip.png
  latentkit ts-anomaly runs/ts --csv weather.csv -o scores.csv`)
    .action(async (_o, cmd: Command) => {
      const { trainSequenceModel } = await import('../tasks/seq/sequences.js');
      const o = typedOptions(cmd);
      if (o.conditional && o.unconditioned) throw new Error('choose --conditional or --unconditioned, not both');
      const r = await trainSequenceModel({
        preset: o.preset, csv: o.csv, columns: o.columns, window: o.window, stride: o.stride, trainFraction: o.trainFraction,
        frameSize: o.frameSize, trainSize: o.trainSize, validSize: o.validSize, limitImages: o.limitImages, dataDir: o.dataDir,
        hidden: o.hidden, layers: o.layers, conditional: o.conditional ? true : o.unconditioned ? false : undefined, futureWeight: o.futureWeight,
        epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, schedule: o.schedule, steps: o.steps, seed: o.seed, out: o.out, resume: o.resume,
        threads: o.threads, progress: o.progress,
      });
      const lines = Object.entries(r.summary).map(([k, v]) => `${k.padEnd(24)} ${Number.isInteger(v) ? v : v.toFixed(6)}`);
      lines.push(`files: ${r.files.join(', ')}`, `checkpoints: ${r.outDir}/checkpoints/{best,last}.safetensors`);
      reportTraining(o, r, lines, { summary: r.summary, files: r.files });
    });

  runCommand(program, 'seq-strip', 'PNG strips: per sequence the input, its reconstruction (original order) and, for composite models, the true and predicted future', 'train-seq (or train --preset lstm-rows)')
    .addOption(outputOption('PNG to write', 'strip.png'))
    .addOption(countOption('number of sequences', 4))
    .option('--first <N>', 'first validation sequence / window / test image', intArg, 0)
    .option('--csv <FILE>', 'time-series runs: windows of this file (default: the training CSV)')
    .option('--scale <N>', 'pixel scale', intArg, 2)
    .addOption(dataDirOption())
    .addHelpText('after', `
Rows per sequence: input frames; reconstruction; true future; predicted future.
Examples:
  latentkit seq-strip runs/moving -o strip.png
  latentkit seq-strip runs/moving -n 8 --first 100 --scale 3 -o more.png
  latentkit seq-strip runs/ts -o windows.png          time series: features x time, input over reconstruction`)
    .action(async (dir: string, o) => {
      const { csvWindowsForRun, loadSeqRun, movingGenerators, movingStrip, predictSequences, windowStrip } = await import('../tasks/seq/sequences.js');
      const { dataSource, loadFashionMnist } = await import('../data/fashion-mnist.js');
      const { reconstructionFigure } = await import('../viz/png.js');
      formatOf(o.output, { '.png': 'png' });
      const run = loadSeqRun(dir, o.checkpoint);
      const ids = Array.from({ length: o.count }, (_, i) => o.first + i);
      const d = run.data;
      if (d.kind === 'moving') {
        const gens = await movingGenerators({ ...d, dataDir: o.dataDir ?? d.dataDir });
        writeOutput(o.output, await movingStrip(run.model, gens.valid, ids, o.scale));
      } else if (d.kind === 'csv') {
        const { windows } = csvWindowsForRun(run, o.csv ?? d.csv, 1);
        const picks = ids.map((i) => Math.min(i * run.model.steps, windows.count - 1));
        writeOutput(o.output, await windowStrip(run.model, windows, picks, Math.max(o.scale, 4)));
      } else {
        const test = await loadFashionMnist('test', dataSource(o.dataDir));
        const x = new Float32Array(ids.length * 784);
        ids.forEach((id, k) => {
          if (id >= test.n) throw new Error(`image ${id} is out of range (test set has ${test.n})`);
          x.set(test.images.subarray(id * 784, (id + 1) * 784), k * 784);
        });
        const p = await predictSequences(run.model, x, ids.length);
        writeOutput(o.output, reconstructionFigure(x, p.recon, { n: ids.length, h: 28, w: 28, scale: o.scale }));
      }
      reporter(o).status(`wrote ${o.output} (${ids.length} sequences)`);
    });

  runCommand(program, 'ts-anomaly', 'per-window anomaly scores (reconstruction MSE on normalised windows) for a CSV file', 'train-seq --csv (a time series)')
    .requiredOption('--csv <FILE>', 'CSV with the columns the run was trained on')
    .addOption(outputOption('CSV to write', 'scores.csv'))
    .option('--stride <N>', 'step between windows', intArg, 1)
    .addOption(jsonOption())
    .option('--label-column <NAME>', 'a 0/1 column marking anomalous rows: also report AUROC of the window scores')
    .addHelpText('after', `
Output columns: window, start_row, end_row, start_line, end_line, score[, label].
Examples:
  latentkit ts-anomaly runs/ts --csv weather.csv -o scores.csv
  latentkit ts-anomaly runs/ts --csv injected.csv --label-column anomaly -o scores.csv`)
    .action(async (dir: string, o) => {
      const { csvWindowsForRun, loadSeqRun, scoresCsv, scoreWindows } = await import('../tasks/seq/sequences.js');
      const { readCsvSeries, windowLabels } = await import('../data/sequences.js');
      const { auroc } = await import('../metrics/ranking.js');
      formatOf(o.output, { '.csv': 'csv' });
      const run = loadSeqRun(dir, o.checkpoint);
      const { series, windows } = csvWindowsForRun(run, o.csv, o.stride);
      const scores = await scoreWindows(run.model, windows);
      let labels: Uint8Array | undefined;
      let auc: number | undefined;
      if (o.labelColumn) {
        const lab = readCsvSeries(o.csv, [o.labelColumn]);
        labels = windowLabels(lab.values, windows.starts, windows.window);
        auc = auroc(scores, labels);
      }
      writeOutput(o.output, scoresCsv(windows, scores, series.lines, labels));
      const say = reporter(o);
      say.status(`wrote ${o.output} (${windows.count} windows of ${windows.window} rows)`);
      say.result({ windows: windows.count, window: windows.window, output: o.output, ...(auc !== undefined ? { auroc: auc } : {}) }, auc !== undefined ? `AUROC ${auc.toFixed(4)}` : []);
    });
}
