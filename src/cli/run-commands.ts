// Commands that read a finished run: eval, reconstruct, plot, export.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadRun, runAutoencoder } from '../apps/autoencoder-run.js';
import { lossCurves } from '../apps/train-images.js';
import { writeFileAtomic } from '../data/atomic.js';
import { dataSource, loadFashionMnist } from '../data/fashion-mnist.js';
import { saveOnnx } from '../onnx/export.js';
import type { EpochRecord } from '../train/trainer.js';
import { imageQuality } from '../train/image-metrics.js';
import { lossCurvesPng } from '../viz/plot.js';
import { reconstructionFigure, savePng } from '../viz/png.js';
import { checkpointOption, dataDirOption, intArg } from './args.js';
import { readImageForModel } from '../data/image-file.js';
import { activeDims } from '../apps/embedding-eval.js';

function history(dir: string): EpochRecord[] {
  const path = join(dir, 'metrics.jsonl');
  try {
    return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as EpochRecord);
  } catch (e) {
    throw new Error(`${path}: cannot read the run's metrics (${(e as Error).message})`);
  }
}

export function registerRunCommands(program: Command): void {
  program
    .command('eval')
    .argument('<run>', 'run folder written by train')
    .description('validation MSE, PSNR and SSIM of a run (Fashion-MNIST test split)')
    .addOption(checkpointOption())
    .addOption(dataDirOption())
    .option('--limit <N>', 'evaluate on the first N test images', intArg)
    .option('-o, --output <PATH>', 'also write the numbers as JSON here')
    .addHelpText('after', '\nExample:\n  latentkit eval logs/trial_0_autoencoder --limit 1000')
    .action(async (dir: string, o) => {
      const run = loadRun(dir, o.checkpoint);
      const data = await loadFashionMnist('test', { ...dataSource(o.dataDir), limit: o.limit });
      const { recon, codes, codeSize } = await runAutoencoder(run, data.images, data.n);
      const q = imageQuality(data.images, recon, data.n, data.shape[1], data.shape[2]);
      // Dead code units (a ReLU bottleneck that never fires) are worth knowing about: the code
      // is then effectively narrower than the model says.
      const active = activeDims(codes, data.n, codeSize);
      const out = { run: dir, checkpoint: o.checkpoint, images: data.n, ...q, codeSize, activeCodeDims: active };
      if (o.output) writeFileAtomic(o.output, JSON.stringify(out, null, 2) + '\n');
      process.stdout.write(`valid MSE ${q.mse.toFixed(6)}  PSNR ${q.psnr.toFixed(2)} dB  SSIM ${q.ssim.toFixed(4)}  (${data.n} images)\n`);
      process.stdout.write(`code: ${codeSize} numbers, ${active} vary over these images${active < codeSize ? ` (${codeSize - active} constant: dead units)` : ''}\n`);
    });

  program
    .command('reconstruct')
    .argument('<run>', 'run folder written by train')
    .description("originals and their reconstructions as one PNG (the chapter's Figure 5.4)")
    .option('-o, --output <PATH>', 'PNG to write', 'reconstruction.png')
    .option('-n, --count <N>', 'number of samples', intArg, 10)
    .option('--samples <LIST>', 'comma-separated test-set indices (overrides --count)')
    .option('--image <FILE...>', 'reconstruct your own image files instead of test samples')
    .option('--resize', 'resize --image files to the model input size (otherwise a size mismatch is an error)')
    .option('--scale <N>', 'pixel scale', intArg, 3)
    .addOption(dataDirOption())
    .addHelpText('after', '\nExamples:\n  latentkit reconstruct logs/trial_0_autoencoder -o fig.png\n  latentkit reconstruct logs/trial_0_autoencoder --samples 0,5,42 -o picks.png\n  latentkit reconstruct logs/trial_0_autoencoder --image shirt.png --resize -o mine.png')
    .action(async (dir: string, o) => {
      const run = loadRun(dir);
      const [, h, w] = run.inputShape as [number, number, number];
      if (o.image) {
        const files = o.image as string[];
        const picked = new Float32Array(files.length * h * w);
        for (const [k, f] of files.entries()) picked.set(await readImageForModel(f, h, w, o.resize), k * h * w);
        const { recon } = await runAutoencoder(run, picked, files.length);
        savePng(o.output, reconstructionFigure(picked, recon, { n: files.length, h, w, scale: o.scale }));
        process.stdout.write(`wrote ${o.output} (${files.length} images on top, reconstructions below)\n`);
        return;
      }
      const data = await loadFashionMnist('test', dataSource(o.dataDir));
      const ids: number[] = o.samples ? String(o.samples).split(',').map((s) => intArg(s.trim())) : Array.from({ length: o.count }, (_, i) => i);
      const size = 28 * 28;
      const picked = new Float32Array(ids.length * size);
      ids.forEach((id, k) => {
        if (id >= data.n) throw new Error(`sample ${id} is out of range (test set has ${data.n})`);
        picked.set(data.images.subarray(id * size, (id + 1) * size), k * size);
      });
      const { recon } = await runAutoencoder(run, picked, ids.length);
      savePng(o.output, reconstructionFigure(picked, recon, { n: ids.length, h: 28, w: 28, scale: o.scale }));
      process.stdout.write(`wrote ${o.output} (${ids.length} originals on top, reconstructions below)\n`);
    });

  program
    .command('plot')
    .argument('<run>', 'run folder written by train')
    .description('loss curves of a run as SVG or PNG (by the extension of -o)')
    .option('-o, --output <PATH>', 'file to write (.svg or .png)', 'loss.svg')
    .addHelpText('after', '\nExample:\n  latentkit plot logs/trial_0_autoencoder -o loss.png')
    .action(async (dir: string, o) => {
      const h = history(dir);
      const svg = lossCurves(h);
      if (String(o.output).endsWith('.png')) {
        const x = h.map((r) => r.epoch);
        writeFileAtomic(o.output, await lossCurvesPng([{ name: 'train loss', x, y: h.map((r) => r.train.loss!) }, { name: 'valid loss', x, y: h.map((r) => r.valid.loss ?? NaN) }], { title: 'Reconstruction loss', xLabel: 'epoch', yLabel: 'loss' }));
      } else writeFileAtomic(o.output, svg);
      process.stdout.write(`wrote ${o.output} (${h.length} epochs)\n`);
    });

  program
    .command('export')
    .argument('<run>', 'run folder written by train')
    .description('ONNX encoder, decoder and full autoencoder plus a JSON manifest')
    .option('-o, --output <DIR>', 'folder to write', 'export')
    .addHelpText('after', '\nExample:\n  latentkit export logs/trial_0_autoencoder -o model/')
    .action(async (dir: string, o) => {
      const run = loadRun(dir);
      const m = run.model;
      const out = o.output as string;
      const shape = run.inputShape;
      saveOnnx(join(out, 'autoencoder.onnx'), m, { inputs: [{ name: 'input', shape }], outputNames: ['reconstruction'] });
      saveOnnx(join(out, 'encoder.onnx'), m, { inputs: [{ name: 'input', shape }], outputNames: ['code'], fn: (mm, [x]) => (mm as typeof m).encode(x!).flatten(1) });
      const codeShape = [m.bottleneckShape()];
      saveOnnx(join(out, 'decoder.onnx'), m, { inputs: [{ name: 'code', shape: codeShape.flat() }], outputNames: ['reconstruction'], fn: (mm, [z]) => (mm as typeof m).decode(z!.reshape(['N', ...m.codeShape()])) });
      const manifest = { model: run.modelConfig, input: { name: 'input', shape: ['N', ...shape], dtype: 'float32', range: [0, 1], preprocessing: 'pixel / 255' }, code: { size: m.bottleneckShape() }, files: ['autoencoder.onnx', 'encoder.onnx', 'decoder.onnx'], opset: 17 };
      writeFileAtomic(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
      process.stdout.write(`wrote ${out}/{autoencoder,encoder,decoder}.onnx and manifest.json\n`);
    });
}
