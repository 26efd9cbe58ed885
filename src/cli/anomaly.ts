// The anomaly command: reconstruction error as an anomaly score, a threshold, heat maps and,
// with --normal, AUROC and average precision. The work is in src/tasks/anomaly/anomaly.ts.
import { Option, type Command } from 'commander';
import { runCommand, dataDirOption, floatArg, intArg, positiveInt } from './args.js';
import { splitOption } from './embed.js';
import { formatOf, jsonOption, outputOption, reporter, writeOutput } from './output.js';

export function registerAnomaly(program: Command): void {
  runCommand(program, 'anomaly', 'anomaly scores (reconstruction error) per sample, a threshold, a per-pixel heat map; AUROC and AP with --normal')
    .addOption(outputOption('CSV to write: id,label,score,anomaly[,truth]'))
    .addOption(splitOption())
    .option('--limit <N>', 'score the first N images of the split', intArg)
    .option('--normal <LIST>', 'normal classes, e.g. 7, 5,7,9 or sneaker,ankle-boot: the other classes are the anomalies (AUROC, AP); default the classes the run trained on (train --classes)')
    .addOption(new Option('--fit <FROM>', 'threshold from: valid (normal train-split images, contamination = accepted false-positive rate) or self (the scored data, contamination = expected anomaly fraction)').choices(['valid', 'self']).default('valid'))
    .option('--contamination <R>', 'fraction above the threshold on the fit data', floatArg, 0.05)
    .option('--valid-start <N>', 'first train-split index of the validation images (default the first the run did not train on)', intArg)
    .option('--valid-count <N>', 'train-split images to draw validation images from', positiveInt, 2000)
    .option('--threshold <X>', 'a fixed threshold instead of --fit', floatArg)
    .option('--heatmap <PATH>', 'PNG of the most anomalous samples: image, reconstruction, per-pixel squared error')
    .option('--top <N>', 'samples in the heat map', positiveInt, 10)
    .addOption(dataDirOption())
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  latentkit train --preset cnn --classes sneaker --out runs/sneakers
  latentkit anomaly runs/sneakers --heatmap worst.png -o scores.csv        normal = the run's classes
  latentkit anomaly runs/sneakers --normal 7 --heatmap worst.png -o scores.csv
  latentkit anomaly logs/trial_0_autoencoder --fit self --contamination 0.02 --heatmap odd.png`)
    .action(async (dir: string, o) => {
      const { anomalyCsv, anomalyRun } = await import('../tasks/anomaly/anomaly.js');
      if (o.output) formatOf(o.output, { '.csv': 'csv' });
      if (o.heatmap) formatOf(o.heatmap, { '.png': 'png' }, '--heatmap');
      const r = await anomalyRun(dir, { split: o.split, limit: o.limit, dataDir: o.dataDir, checkpoint: o.checkpoint, normal: o.normal, fit: o.fit, contamination: o.contamination, validStart: o.validStart, validCount: o.validCount, threshold: o.threshold, heatmap: o.heatmap, top: o.top });
      if (o.output) writeOutput(o.output, anomalyCsv(r));
      const say = reporter(o);
      const lines: string[] = [];
      const from = r.thresholdFrom === 'fixed' ? 'given' : r.thresholdFrom === 'self' ? `contamination ${r.contamination} of the scored data` : `${(1 - r.contamination) * 100}th percentile of ${r.valid!.count} normal validation images (train ${r.valid!.start}..)${r.valid!.seenInTraining ? '; note: the run trained on these images' : ''}`;
      lines.push(`${r.n} ${r.split} images scored; threshold ${r.threshold.toPrecision(6)} (${from}); ${r.flagged} flagged (${((100 * r.flagged) / r.n).toFixed(1)}%)`);
      for (const w of r.warnings) process.stderr.write(`latentkit: warning: ${w}\n`);
      if (r.auroc !== undefined) {
        const c = r.counts!;
        lines.push(`normal classes ${r.normal!.join(',')}: AUROC ${r.auroc.toFixed(4)}  average precision ${r.averagePrecision!.toFixed(4)}  (anomalies: ${c.tp + c.fn} of ${r.n})`);
        lines.push(`at the threshold: precision ${c.precision.toFixed(4)}  recall ${c.recall.toFixed(4)}  F1 ${c.f1.toFixed(4)}`);
      }
      const { scores: _s, predictions: _p, ids: _i, classLabels: _l, truth: _t, ...summary } = r;
      say.result(summary, lines);
      if (o.output) say.status(`wrote ${o.output}`);
      if (o.heatmap) say.status(`wrote ${o.heatmap} (top ${r.top!.length}: ids ${r.top!.join(', ')})`);
    });
}
