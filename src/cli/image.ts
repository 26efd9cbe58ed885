// Commands that read a finished run: eval, reconstruct, plot, export.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { EpochRecord } from '../train/trainer.js';
import { runCommand, countOption, dataDirOption, intArg } from './args.js';
import { formatOf, jsonOption, outputDirOption, outputOption, reporter, writeOutput } from './output.js';

function history(dir: string): EpochRecord[] {
  const path = join(dir, 'metrics.jsonl');
  try {
    return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as EpochRecord);
  } catch (e) {
    throw new Error(`${path}: cannot read the run's metrics (${(e as Error).message})`);
  }
}

export function registerRunCommands(program: Command): void {
  runCommand(program, 'eval', "validation MSE, PSNR and SSIM of a run (its held-out images: Fashion-MNIST's test split or the folder's 10%), per channel for colour")
    .addOption(dataDirOption())
    .option('--limit <N>', 'evaluate on the first N held-out images', intArg)
    .addOption(outputOption('also write the numbers to this .json file'))
    .addOption(jsonOption())
    .addHelpText('after', '\nExample:\n  latentkit eval logs/trial_0_autoencoder --limit 1000')
    .action(async (dir: string, o) => {
      const { loadRun, runAutoencoder } = await import('../train/run-folder.js');
      const { loadRunImages } = await import('../data/run-images.js');
      const { formatQuality, imageQuality } = await import('../metrics/image-quality.js');
      const { activeDims } = await import('../tasks/embed/evaluate.js');
      if (o.output) formatOf(o.output, { '.json': 'json' });
      const run = loadRun(dir, o.checkpoint);
      const data = await loadRunImages(run.config, run.inputShape, { split: 'test', limit: o.limit, dataDir: o.dataDir });
      const { recon, codes, codeSize } = await runAutoencoder(run, data.images, data.n);
      const [c, h, w] = data.shape;
      const q = imageQuality(data.images, recon, data.n, h, w, c);
      // Dead code units (a ReLU bottleneck that never fires) are worth knowing about: the code
      // is then effectively narrower than the model says.
      const active = activeDims(codes, data.n, codeSize);
      const out = { run: dir, checkpoint: o.checkpoint, images: data.n, inputShape: data.shape, ...q, codeSize, activeCodeDims: active };
      if (o.output) writeOutput(o.output, JSON.stringify(out, null, 2) + '\n');
      const [first, ...perChannel] = formatQuality(q).split('\n');
      reporter(o).result(out, [
        `valid ${first}  (${data.n} images of [${data.shape}])`,
        ...perChannel,
        `code: ${codeSize} numbers, ${active} vary over these images${active < codeSize ? ` (${codeSize - active} constant: dead units)` : ''}`,
      ]);
    });

  runCommand(program, 'reconstruct', "originals and their reconstructions as one PNG (the chapter's Figure 5.4)")
    .addOption(outputOption('PNG to write', 'reconstruction.png'))
    .addOption(countOption('number of samples', 10))
    .option('--samples <LIST>', 'comma-separated held-out image indices (overrides --count)')
    .option('--image <FILE...>', 'reconstruct your own PNG/JPEG/WebP files instead of held-out samples (stretched to the run\'s input size)')
    .option('--resize', '(kept for old scripts: --image files are always resized to the run\'s input)')
    .option('--scale <N>', 'pixel scale (default 3 for 28x28, less for larger images)', intArg)
    .addOption(dataDirOption())
    .addHelpText('after', '\nExamples:\n  latentkit reconstruct logs/trial_0_autoencoder -o fig.png\n  latentkit reconstruct logs/trial_0_autoencoder --samples 0,5,42 -o picks.png\n  latentkit reconstruct logs/trial_0_autoencoder --image shirt.png --resize -o mine.png')
    .action(async (dir: string, o) => {
      const { loadRun, runAutoencoder } = await import('../train/run-folder.js');
      const { loadRunImages } = await import('../data/run-images.js');
      const { figureScale, reconstructionFigure } = await import('../viz/png.js');
      const { readImageFiles } = await import('../data/image-file.js');
      formatOf(o.output, { '.png': 'png' });
      const say = reporter(o);
      const run = loadRun(dir, o.checkpoint);
      const [c, h, w] = run.inputShape as [number, number, number];
      const figure = { channels: c as 1 | 3, h, w, scale: o.scale ?? figureScale(h) };
      if (o.image) {
        const files = o.image as string[];
        const picked = await readImageFiles(files, run.inputShape);
        const { recon } = await runAutoencoder(run, picked, files.length);
        writeOutput(o.output, reconstructionFigure(picked, recon, { n: files.length, ...figure }));
        say.status(`wrote ${o.output} (${files.length} images on top, reconstructions below; ${w}x${h} ${c === 3 ? 'RGB' : 'gray'})`);
        return;
      }
      const ids: number[] = o.samples ? String(o.samples).split(',').map((s) => intArg(s.trim())) : Array.from({ length: o.count }, (_, i) => i);
      const data = await loadRunImages(run.config, run.inputShape, { split: 'test', limit: Math.max(...ids) + 1, dataDir: o.dataDir });
      const size = c * h * w;
      const picked = new Float32Array(ids.length * size);
      ids.forEach((id, k) => {
        if (id >= data.n) throw new Error(`sample ${id} is out of range (the held-out images number ${data.n})`);
        picked.set(data.images.subarray(id * size, (id + 1) * size), k * size);
      });
      const { recon } = await runAutoencoder(run, picked, ids.length);
      writeOutput(o.output, reconstructionFigure(picked, recon, { n: ids.length, ...figure }));
      say.status(`wrote ${o.output} (${ids.length} originals on top, reconstructions below; ${w}x${h} ${c === 3 ? 'RGB' : 'gray'})`);
    });

  program
    .command('plot')
    .argument('<run>', 'run folder written by train')
    .description('loss curves of a run as SVG or PNG (by the extension of -o)')
    .addOption(outputOption('file to write (.svg or .png)', 'loss.svg'))
    .addHelpText('after', '\nExample:\n  latentkit plot logs/trial_0_autoencoder -o loss.png')
    .action(async (dir: string, o) => {
      const { lossCurves, lossCurvesPng } = await import('../viz/plot.js');
      const format = formatOf(o.output, { '.svg': 'svg', '.png': 'png' });
      const h = history(dir);
      const x = h.map((r) => r.epoch);
      writeOutput(o.output, format === 'png'
        ? await lossCurvesPng([{ name: 'train loss', x, y: h.map((r) => r.train.loss!) }, { name: 'valid loss', x, y: h.map((r) => r.valid.loss ?? NaN) }], { title: 'Reconstruction loss', xLabel: 'epoch', yLabel: 'loss' })
        : lossCurves(h));
      reporter(o).status(`wrote ${o.output} (${h.length} epochs)`);
    });

  runCommand(program, 'export', 'ONNX encoder, decoder and full autoencoder plus a JSON manifest')
    .addOption(outputDirOption('folder to write', 'export'))
    .addHelpText('after', '\nExample:\n  latentkit export logs/trial_0_autoencoder -o model/')
    .action(async (dir: string, o) => {
      const { loadRun } = await import('../train/run-folder.js');
      const { exportRunModels } = await import('../tasks/playground/web-bundle.js');
      const out = o.output as string;
      exportRunModels(loadRun(dir, o.checkpoint), out);
      process.stdout.write(`wrote ${out}/{autoencoder,encoder,decoder}.onnx and manifest.json\n`);
    });
}
