// `latentkit train`
import type { Command } from 'commander';
import { presetNames } from '../models/index.js';
import { addOptions, dataDirOption, intArg, parseImageSize, reportTraining, runFolderOption, trainingOptions, typedOptions } from './args.js';
import { jsonOption } from './output.js';

export function registerTrain(program: Command): void {
  addOptions(
    program
      .command('train')
      .description('train an autoencoder on Fashion-MNIST (or a dataset in MNIST format via --data-dir)')
      .option('--preset <NAME>', `model preset: ${presetNames().join(', ')}`, 'seed-cnn')
      .option('--config <FILE>', 'JSON model config, e.g. {"preset": "seed-cnn", "bottleneck": 10, "lr": 0.01}')
      .option('--bottleneck <K>', 'number of code channels (the chapter suggests trying 10 instead of 4)', intArg)
      .addOption(dataDirOption())
      .option('--images <DIR>', 'train on your own PNG/JPEG/WebP images (class subfolders optional); 10% held out for validation')
      .option('--image-size <H[xW]>', 'input size, e.g. 32 or 64x48 (default: the first image\'s size; 28 for Fashion-MNIST); images are stretched to it', parseImageSize)
      .option('--channels <C>', '1 (gray) or 3 (RGB) (default: 3 if any image is in colour)', intArg)
      .option('--classes <LIST>', 'train on these classes only: indices or names, e.g. 7 or sneaker,ankle-boot (class subfolder names for --images)')
      .option('--augment <LIST>', 'seeded training-time augmentation: flip, crop or flip,crop (random horizontal flips; shifts by up to 1/8 of the size)')
      .option('--stream', 'decode the folder once into a uint8 cache file and read a batch at a time (for folders larger than memory; default above 1 GiB of decoded images)')
      .option('--skip-bad', 'skip images that cannot be decoded (and count them) instead of stopping at the first'),
    trainingOptions(),
  )
    .option('--seed <N>', 'seed for initialisation, shuffling and noise', intArg, 0)
    .addOption(runFolderOption())
    .addOption(jsonOption())
    .option('--init <FILE>', 'initial weights from a safetensors file (PyTorch state_dict names)')
    .option('--resume', 'continue the run in --out (or the newest trial) from its last checkpoint')
    .option('--limit-train <N>', 'use only the first N training images', intArg)
    .option('--limit-valid <N>', 'use only the first N validation images', intArg)
    .option('--steps <N>', 'stop after N optimizer steps', intArg)
    .option('--log-every <N>', 'append every Nth step loss to steps.csv', intArg)
    .option('--early-stopping <N>', 'stop when valid loss has not improved for N epochs', intArg)
    .option('--no-shuffle', 'keep file order')
    .option('--threads <N>', 'onnxruntime intra-op threads per session', intArg, 1)
    .option('--workers <N>', 'threads sharing each batch (data parallel; "auto" = all cores; preset default: auto for seed-cnn and cnn, at least 16 rows per worker; else 1)', (v: string) => (v === 'auto' ? 'auto' : intArg(v)))
    .option('--no-progress', 'no progress bar')
    .addHelpText('after', `
Examples:
  latentkit train --preset seed-cnn                         the chapter's experiment
  latentkit train --preset seed-cnn --bottleneck 10 --out runs/b10
  latentkit train --preset cnn --epochs 30
  latentkit train --limit-train 2000 --limit-valid 500 --epochs 2   a quick check
  latentkit train --out runs/b10 --resume                   continue after an interruption
  latentkit train --init weights.safetensors                start from PyTorch weights
  latentkit train --images my_photos/ --epochs 10           your own images, at the first image's size
  latentkit train --images photos/ --preset cnn --image-size 32 --channels 3 --bottleneck 32   colour, 32x32
  latentkit train --preset cnn --classes sneaker --out runs/sneakers   one class (then: anomaly runs/sneakers)`)
    .action(async (_o, cmd: Command) => {
      const { trainImageAutoencoder } = await import('../tasks/image/train.js');
      const o = typedOptions(cmd);
      const r = await trainImageAutoencoder({
        preset: o.preset, configFile: o.config, bottleneck: o.bottleneck, dataDir: o.dataDir, images: o.images, imageSize: o.imageSize, channels: o.channels, classes: o.classes, skipBad: o.skipBad, augment: o.augment, stream: o.stream, epochs: o.epochs, batchSize: o.batchSize,
        lr: o.lr, schedule: o.schedule, seed: o.seed, out: o.out, init: o.init, resume: o.resume, limitTrain: o.limitTrain,
        limitValid: o.limitValid, steps: o.steps, logEvery: o.logEvery, earlyStopping: o.earlyStopping, shuffle: o.shuffle,
        threads: o.threads, workers: o.workers, progress: o.progress,
      });
      reportTraining(o, r, [
        `metrics:        ${r.metricsPath}`,
        `figure:         ${r.figure}`,
        `loss curves:    ${r.curves}`,
        `checkpoints:    ${r.outDir}/checkpoints/{best,last}.safetensors`,
      ], { files: { metrics: r.metricsPath, figure: r.figure, curves: r.curves } });
    });
}
