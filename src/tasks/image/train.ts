// The chapter's experiment as a function: an image autoencoder on Fashion-MNIST (train split
// for training, test split for validation, as in the chapter), with checkpoints, metrics,
// the reconstruction figure and loss curves in one run directory.
import { join, resolve } from 'node:path';
import type { Tensor } from '../../graph/tensor.js';
import { imageSetDataset, subset, type TensorDataset } from '../../data/dataset.js';
import { DataLoader } from '../../data/loader.js';
import { augmentBatch, parseAugment, type Augment } from '../../data/augment.js';
import type { ImageSet } from '../../data/dataset.js';
import { cacheImageFolder } from '../../data/image-cache.js';
import { listImageFolder } from '../../data/image-folder.js';
import { chooseImageShape, datasetClassNames, firstImages, folderSplitIndices, imageFolderSplit, loadRunImages, parseClasses, selectClasses } from '../../data/run-images.js';
import { bceLoss, mseLoss } from '../../losses/index.js';
import type { Autoencoder } from '../../models/conv-autoencoder.js';
import { buildModel, getPreset, readModelConfig, type ModelConfig, type Preset, type TrainDefaults } from '../../models/index.js';
import { manualSeed } from '../../nn/init.js';
import { loadSafetensors } from '../../nn/safetensors.js';
import { makeOptimizer } from '../../optim/optimizer.js';
import { lossCurves } from '../../viz/plot.js';
import { figureScale, reconstructionFigure, savePng } from '../../viz/png.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { Trainer, withRunLock, type Callback, type TrainResult } from '../../train/trainer.js';
import type { StepFn } from '../../runtime/compile.js';
import { autoWorkers } from '../../runtime/parallel.js';
import { cpus } from 'node:os';
import { parseSchedule } from '../../optim/schedule.js';
import { checkResume, givenSettings, readRunConfig, type Overrides } from '../../train/resume.js';
import { runAutoencoder, trialDir } from '../../train/run-folder.js';

export interface ImageTrainOptions {
  preset?: string;
  configFile?: string;
  bottleneck?: number;
  dataDir?: string;
  /** Train on a folder of the user's PNG/JPEG/WebP images instead (10% held out for validation). */
  images?: string;
  /** Input [H, W] (default: the first image's size; Fashion-MNIST 28x28). */
  imageSize?: [number, number];
  /** Input channels 1 or 3 (default: 3 if any image of the folder is in colour). */
  channels?: number;
  /** Train on these classes only: indices or names ("7", "sneaker,ankle-boot", subfolder names). */
  classes?: string;
  /** Leave out images that cannot be decoded (counted in the log) instead of stopping. */
  skipBad?: boolean;
  /** Training-time augmentation, seeded: "flip", "crop" or "flip,crop". */
  augment?: string;
  /**
   * Decode the folder once into a uint8 cache file in the run folder and read batches from it
   * (for folders larger than memory; default: when the decoded float32 images would pass 1 GiB).
   */
  stream?: boolean;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  out?: string;
  init?: string;
  resume?: boolean;
  limitTrain?: number;
  limitValid?: number;
  steps?: number;
  logEvery?: number;
  shuffle?: boolean;
  schedule?: string;
  earlyStopping?: number;
  threads?: number;
  workers?: number | 'auto';
  progress?: boolean;
  callbacks?: Callback[];
  log?: (line: string) => void;
}

export interface ImageTrainResult extends TrainResult {
  figure: string;
  curves: string;
  metricsPath: string;
  model: Autoencoder;
}

/**
 * A resume's options: the run's config.json decides the model, data and training settings;
 * flags that would change them are refused (see train/resume.ts).
 */
function resumeImageOptions(outDir: string, o: ImageTrainOptions): { o: ImageTrainOptions; fromFile: ReturnType<typeof readModelConfig>; run: Record<string, unknown>; overrides: Overrides } {
  const run = readRunConfig(outDir);
  const model = run.model as ModelConfig;
  const dataset = String(run.dataset ?? 'fashion-mnist');
  const runOptions: Record<string, unknown> = {
    preset: model.preset, bottleneck: model.bottleneck, seed: run.seed, limitTrain: run.limitTrain, limitValid: run.limitValid, batchSize: run.batchSize,
    schedule: run.schedule, shuffle: run.shuffle ?? true, epochs: run.epochs, lr: run.lr, images: dataset.startsWith('images:') ? dataset.slice(7) : undefined,
  };
  const { configFile, init, ...rest } = o;
  // The run records its image folder as an absolute path.
  if (rest.images !== undefined) rest.images = resolve(rest.images);
  const settings = givenSettings(rest, runOptions);
  // A config file is fine when it says what the run says.
  if (configFile) {
    const file = readModelConfig(configFile);
    // The run adds the input shape it chose; a file that does not name one agrees with any.
    const { inputShape, ...runModel } = model;
    const asRun = file.model.inputShape === undefined ? runModel : { ...runModel, inputShape };
    settings.push({ key: 'model', label: `--config ${configFile} (model)`, given: file.model, run: asRun });
    for (const [k, v] of Object.entries(file.train)) settings.push({ key: k, label: `--config ${configFile} (${k})`, given: v, run: run[k] });
  }
  if (init) settings.push({ key: 'init', label: '--init', given: init, run: undefined });
  const overrides = checkResume(outDir, settings);
  const train = { lr: o.lr ?? run.lr, batchSize: run.batchSize, epochs: o.epochs ?? run.epochs, loss: run.loss, optimizer: run.optimizer, schedule: run.schedule } as Partial<TrainDefaults>;
  return {
    o: { ...o, configFile: undefined, init: undefined, bottleneck: undefined, seed: run.seed as number, limitTrain: run.limitTrain as number | undefined, limitValid: run.limitValid as number | undefined, images: runOptions.images as string | undefined, shuffle: runOptions.shuffle as boolean, schedule: undefined, lr: undefined, epochs: undefined, batchSize: undefined, workers: o.workers ?? (run.workers as ImageTrainOptions['workers']),
      classes: Array.isArray(run.classes) ? run.classes.join(',') : undefined, skipBad: run.skipBad === true, augment: Array.isArray(run.augment) ? run.augment.join(',') : undefined },
    fromFile: { model: { ...model }, train },
    run,
    overrides,
  };
}

export async function trainImageAutoencoder(opts: ImageTrainOptions): Promise<ImageTrainResult> {
  let o = opts;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const resumed = o.resume ? resumeImageOptions(o.out ?? trialDir('logs', true), o) : undefined;
  if (resumed) o = { ...resumed.o, out: o.out ?? trialDir('logs', true) };
  const fromFile = resumed?.fromFile ?? (o.configFile ? readModelConfig(o.configFile) : undefined);
  const modelConfig: ModelConfig = fromFile?.model ?? { preset: o.preset ?? 'seed-cnn' };
  if (o.bottleneck !== undefined) modelConfig.bottleneck = o.bottleneck;
  const preset = getPreset(modelConfig.preset);
  if (preset.trainCommand) throw new Error(`preset ${modelConfig.preset} is trained with \`latentkit ${preset.trainCommand}\`, not \`latentkit train\``);
  const outDir = o.out ?? trialDir('logs', o.resume);
  // The input shape is the run's: chosen here, recorded in config.json (model.inputShape), read
  // by every command and by --resume.
  const shape = modelConfig.inputShape
    ? [...modelConfig.inputShape]
    : await chooseImageShape({ images: o.images, imageSize: o.imageSize, channels: o.channels, presetShape: preset.inputShape, anyShape: !!preset.anyImageShape });
  modelConfig.inputShape = shape;
  // An absolute folder, so commands run from elsewhere find the run's images.
  const dataset = o.images ? `images:${resolve(o.images)}` : 'fashion-mnist';
  const classes = o.classes === undefined ? undefined : parseClasses(o.classes, datasetClassNames(dataset));
  const d = { ...preset.defaults, ...fromFile?.train };
  const hp = {
    lr: o.lr ?? d.lr,
    batchSize: o.batchSize ?? d.batchSize,
    epochs: o.epochs ?? d.epochs,
    loss: d.loss,
    optimizer: d.optimizer,
    schedule: o.schedule ?? d.schedule ?? 'constant',
  };
  const workers = o.workers ?? d.workers ?? 1;
  const seed = o.seed ?? 0;
  manualSeed(seed);
  const model = buildModel(modelConfig);
  const threads = workers === 'auto' ? autoWorkers(cpus().length, hp.batchSize, model.namedBuffers().length > 0) : workers;
  if (o.init) {
    model.loadStateDict(loadSafetensors(o.init).tensors, true, o.init);
    log(`initialised weights from ${o.init}`);
  }
  const augment = o.augment ? parseAugment(o.augment) : undefined;
  // Locked from the first write to the last (data cache, checkpoints, figure, curves).
  return withRunLock(outDir, log, async () => {
    const data = await trainingData(o, shape, seed, classes, outDir, log);
    const { train, valid, preview } = data;
    try {
      if (train.length === 0 || valid.length === 0) throw new Error(`no ${train.length === 0 ? 'training' : 'validation'} images${classes ? ` of classes ${classes.join(',')}` : ''}`);
      const optimizer = makeOptimizer(hp.optimizer, hp.lr);
      log(`training ${modelConfig.preset} (${model.numParameters()} parameters, input [${shape}]) on ${train.length} images${classes ? ` of classes ${classes.map((c) => data.classNames[c] ?? c).join(', ')}` : ''}, validating on ${valid.length}; lr ${hp.lr}, batch ${hp.batchSize}, ${hp.epochs} epochs, ${threads === 1 ? '1 thread' : `${threads} data-parallel workers`} -> ${outDir}`);
      const trainer = new Trainer({
        model,
        inputs: preset.inputs?.(modelConfig) ?? [{ name: 'x', shape }],
        step: preset.step?.(hp, modelConfig) ?? reconstructionStep(hp.loss),
        feeds: withAugment(preset.feeds?.(modelConfig), augment, shape),
        optimizer,
        train: new DataLoader({ dataset: train, batchSize: hp.batchSize, shuffle: o.shuffle ?? true, seed }),
        valid: new DataLoader({ dataset: valid, batchSize: hp.batchSize, shuffle: false }),
        epochs: hp.epochs,
        outDir,
        schedule: parseSchedule(hp.schedule, hp.epochs),
        earlyStopping: o.earlyStopping ? { patience: o.earlyStopping } : undefined,
        maxSteps: o.steps,
        logEvery: o.logEvery,
        resume: o.resume,
        progress: o.progress ?? true,
        seed,
        callbacks: o.callbacks,
        session: { intraOpThreads: o.threads ?? 1 },
        workers: threads, // resolved once here, so the log line and the step agree; config.json keeps 'auto'
        config: {
          ...resumed?.run, model: modelConfig, ...hp, workers, dataset, classes, skipBad: o.skipBad || undefined, augment, limitTrain: o.limitTrain, limitValid: o.limitValid,
          init: resumed ? resumed.run.init : o.init, shuffle: o.shuffle ?? true,
        },
        resumeOverrides: resumed?.overrides,
        log,
      });
      const result = await trainer.fit();
      await trainer.release();

      // The chapter's Figure 5.4 from the best weights (the trainer's own parameter store, which
      // holds them after fit), and the loss curves.
      const { recon } = await runAutoencoder({ model, inputShape: shape }, preview.images, preview.n, 500, trainer.store);
      const figure = join(outDir, 'reconstruction.png');
      savePng(figure, reconstructionFigure(preview.images, recon, { n: preview.n, channels: shape[0] as 1 | 3, h: shape[1]!, w: shape[2]!, scale: figureScale(shape[1]!) }));
      const curves = join(outDir, 'loss.svg');
      writeFileAtomic(curves, lossCurves(result.history));
      return { ...result, figure, curves, metricsPath: join(outDir, '_metrics.json'), model };
    } finally {
      data.release();
    }
  });
}

/** What the trainer reads: train and validation datasets, and the first validation images for the figure. */
interface TrainingData {
  train: TensorDataset;
  valid: TensorDataset;
  /** Up to 10 validation images (for reconstruction.png). */
  preview: { images: Float32Array; n: number };
  classNames: string[];
  /** Frees what the data holds (the on-disk cache of a streamed folder). */
  release(): void;
}

/** Decoded float32 folders above this size are streamed from a uint8 cache file by default. */
const STREAM_ABOVE_BYTES = 1 << 30;

/**
 * Train and validation images at the run's shape: Fashion-MNIST's train/test splits, or a
 * folder's seeded 90/10 split; then the class selection and the limits. Folders too large to
 * hold as float32 (or with --stream) are decoded once into a uint8 file and read batch by batch.
 */
async function trainingData(o: ImageTrainOptions, shape: number[], seed: number, classes: number[] | undefined, outDir: string, log: (l: string) => void): Promise<TrainingData> {
  const size = shape.reduce((a, b) => a * b, 1);
  const inMemory = ([train, valid]: ImageSet[]): TrainingData => {
    const n = Math.min(10, valid!.n);
    return { train: imageSetDataset(train!), valid: imageSetDataset(valid!), preview: { images: valid!.images.subarray(0, n * size), n }, classNames: train!.classNames, release: () => {} };
  };
  const skippedLine = (skipped: string[]) => {
    if (skipped.length) log(`skipped ${skipped.length} unreadable image${skipped.length > 1 ? 's' : ''} (--skip-bad), e.g. ${skipped[0]}`);
  };
  if (!o.images) {
    const config = { dataset: 'fashion-mnist', classes };
    return inMemory(await Promise.all([
      loadRunImages(config, shape, { split: 'train', limit: o.limitTrain, dataDir: o.dataDir }),
      loadRunImages(config, shape, { split: 'test', limit: o.limitValid, dataDir: o.dataDir }),
    ]));
  }
  const files = listImageFolder(o.images).files.length;
  if (!(o.stream ?? files * size * 4 > STREAM_ABOVE_BYTES)) {
    const split = await imageFolderSplit(o.images, shape, seed, o.skipBad);
    skippedLine(split.skipped);
    return inMemory([firstImages(selectClasses(split.train, classes), o.limitTrain), firstImages(selectClasses(split.test, classes), o.limitValid)]);
  }
  let shown = 0;
  const cache = await cacheImageFolder(o.images, shape, join(outDir, 'cache', 'images-u8.bin'), {
    skipBad: o.skipBad,
    onProgress: (done, total) => {
      if (done === total || done - shown >= total / 10) log(`decoded ${(shown = done)} of ${total} images into ${join(outDir, 'cache')}/ (uint8, read a batch at a time)`);
    },
  });
  skippedLine(cache.skipped);
  const keep = classes ? new Set(classes) : undefined;
  const pick = (ids: Int32Array, limit?: number) => {
    const picked = keep ? ids.filter((i) => keep.has(cache.labels[i]!)) : ids;
    return subset(cache.dataset, limit === undefined ? picked : picked.subarray(0, limit));
  };
  const split = folderSplitIndices(cache.n, seed);
  const train = pick(split.train, o.limitTrain);
  const valid = pick(split.test, o.limitValid);
  const n = Math.min(10, valid.length);
  const images = new Float32Array(n * size);
  valid.gather(Int32Array.from({ length: n }, (_, i) => i), images);
  return { train, valid, preview: { images, n }, classNames: cache.classNames, release: () => cache.close() };
}

type Feeds = NonNullable<ReturnType<NonNullable<Preset['feeds']>>>;

/** The preset's feeds (default [batch.x]) on augmented training batches; validation stays as is. */
function withAugment(feeds: Feeds | undefined, augment: Augment[] | undefined, shape: number[]): Feeds | undefined {
  if (!augment) return feeds;
  return (batch, rng, info) => {
    const b = info.training ? { ...batch, x: augmentBatch(batch.x, batch.n, shape, augment, rng) } : batch;
    return feeds ? feeds(b, rng, info) : [b.x];
  };
}

/** Reconstruct the input; with BCE, also report MSE so runs stay comparable. */
export function reconstructionStep(loss: TrainDefaults['loss']): StepFn {
  const lossFn = loss === 'bce' ? bceLoss : mseLoss;
  return (m, [x]) => {
    const recon = m.call(x!);
    const metrics: Record<string, Tensor> = loss === 'mse' ? {} : { mse: mseLoss(recon, x!) };
    return { loss: lossFn(recon, x!), metrics };
  };
}

