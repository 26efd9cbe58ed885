// The chapter's experiment as a function: an image autoencoder on Fashion-MNIST (train split
// for training, test split for validation, as in the chapter), with checkpoints, metrics,
// the reconstruction figure and loss curves in one run directory.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../graph/tensor.js';
import { imageSetDataset } from '../data/dataset.js';
import { dataSource, loadFashionMnist } from '../data/fashion-mnist.js';
import { DataLoader, randomSplit } from '../data/loader.js';
import type { ImageSet } from '../data/dataset.js';
import { loadImageFolder } from '../data/image-folder.js';
import { bceLoss, mseLoss } from '../losses/index.js';
import type { Autoencoder } from '../models/conv-autoencoder.js';
import { buildModel, getPreset, readModelConfig, type ModelConfig, type TrainDefaults } from '../models/index.js';
import { manualSeed } from '../nn/init.js';
import { loadSafetensors } from '../nn/safetensors.js';
import { Adam, AdamW, SGD, type Optimizer } from '../optim/optimizer.js';
import { lossCurvesSvg } from '../viz/plot.js';
import { reconstructionFigure, savePng } from '../viz/png.js';
import { writeFileAtomic } from '../data/atomic.js';
import { Trainer, withRunLock, type Callback, type TrainResult } from '../train/trainer.js';
import type { StepFn } from '../runtime/compile.js';
import { parseSchedule } from '../train/schedule.js';
import { checkResume, givenSettings, readRunConfig, type Overrides } from '../train/resume.js';
import { runAutoencoder } from './autoencoder-run.js';

export interface ImageTrainOptions {
  preset?: string;
  configFile?: string;
  bottleneck?: number;
  dataDir?: string;
  /** Train on a folder of the user's PNG/JPEG images instead (resized to the model's input; 10% held out for validation). */
  images?: string;
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

/** Next free `logs/trial_{N}_autoencoder`, or with resume the newest existing one. */
export function trialDir(root = 'logs', resume = false): string {
  const taken = existsSync(root)
    ? readdirSync(root).map((d) => /^trial_(\d+)_autoencoder$/.exec(d)?.[1]).filter((x): x is string => !!x).map(Number)
    : [];
  if (resume) {
    if (!taken.length) throw new Error(`--resume: no trial folder in ${root}/; pass --out DIR`);
    return join(root, `trial_${Math.max(...taken)}_autoencoder`);
  }
  return join(root, `trial_${taken.length ? Math.max(...taken) + 1 : 0}_autoencoder`);
}

function makeOptimizer(kind: TrainDefaults['optimizer'], lr: number): Optimizer {
  if (kind === 'adamw') return new AdamW({ lr });
  if (kind === 'sgd') return new SGD({ lr, momentum: 0.9 });
  return new Adam({ lr });
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
  const settings = givenSettings(rest, runOptions);
  // A config file is fine when it says what the run says.
  if (configFile) {
    const file = readModelConfig(configFile);
    settings.push({ key: 'model', label: `--config ${configFile} (model)`, given: file.model, run: model });
    for (const [k, v] of Object.entries(file.train)) settings.push({ key: k, label: `--config ${configFile} (${k})`, given: v, run: run[k] });
  }
  if (init) settings.push({ key: 'init', label: '--init', given: init, run: undefined });
  const overrides = checkResume(outDir, settings);
  const train = { lr: o.lr ?? run.lr, batchSize: run.batchSize, epochs: o.epochs ?? run.epochs, loss: run.loss, optimizer: run.optimizer, schedule: run.schedule } as Partial<TrainDefaults>;
  return {
    o: { ...o, configFile: undefined, init: undefined, bottleneck: undefined, seed: run.seed as number, limitTrain: run.limitTrain as number | undefined, limitValid: run.limitValid as number | undefined, images: runOptions.images as string | undefined, shuffle: runOptions.shuffle as boolean, schedule: undefined, lr: undefined, epochs: undefined, batchSize: undefined, workers: o.workers ?? (run.workers as ImageTrainOptions['workers']) },
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
  if (o.init) {
    model.loadStateDict(loadSafetensors(o.init).tensors, true, o.init);
    log(`initialised weights from ${o.init}`);
  }
  const dataOpts = dataSource(o.dataDir);
  const shape = preset.inputShape;
  const [trainSet, validSet] = o.images
    ? await imageFolderSplit(o.images, shape, seed, o.limitTrain, o.limitValid)
    : await Promise.all([loadFashionMnist('train', { ...dataOpts, limit: o.limitTrain }), loadFashionMnist('test', { ...dataOpts, limit: o.limitValid })]);
  if (trainSet.shape.join(',') !== shape.join(',')) throw new Error(`images are [${trainSet.shape}] but preset ${modelConfig.preset} expects [${shape}]`);
  const outDir = o.out ?? trialDir('logs', o.resume);
  const optimizer = makeOptimizer(hp.optimizer, hp.lr);
  log(`training ${modelConfig.preset} (${model.numParameters()} parameters) on ${trainSet.n} images, validating on ${validSet.n}; lr ${hp.lr}, batch ${hp.batchSize}, ${hp.epochs} epochs, ${workers === 1 ? '1 thread' : `${workers} data-parallel workers`} -> ${outDir}`);
  // Locked from the first write to the last (checkpoints, figure, curves).
  return withRunLock(outDir, log, async () => {
    const trainer = new Trainer({
      model,
      inputs: preset.inputs?.(modelConfig) ?? [{ name: 'x', shape }],
      step: preset.step?.(hp, modelConfig) ?? reconstructionStep(hp.loss),
      feeds: preset.feeds?.(modelConfig),
      optimizer,
      train: new DataLoader({ dataset: imageSetDataset(trainSet), batchSize: hp.batchSize, shuffle: o.shuffle ?? true, seed }),
      valid: new DataLoader({ dataset: imageSetDataset(validSet), batchSize: hp.batchSize, shuffle: false }),
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
      workers,
      config: {
        ...resumed?.run, model: modelConfig, ...hp, workers, dataset: o.images ? `images:${o.images}` : 'fashion-mnist', limitTrain: o.limitTrain, limitValid: o.limitValid,
        init: resumed ? resumed.run.init : o.init, shuffle: o.shuffle ?? true,
      },
      resumeOverrides: resumed?.overrides,
      log,
    });
    const result = await trainer.fit();
    await trainer.release();

    // The chapter's Figure 5.4 from the best weights, and the loss curves.
    const n = Math.min(10, validSet.n);
    const { recon } = await runAutoencoder({ model, inputShape: shape }, validSet.images, n);
    const figure = join(outDir, 'reconstruction.png');
    savePng(figure, reconstructionFigure(validSet.images, recon, { n, h: shape[1]!, w: shape[2]!, scale: 3 }));
    const curves = join(outDir, 'loss.svg');
    writeFileAtomic(curves, lossCurves(result.history));
    return { ...result, figure, curves, metricsPath: join(outDir, '_metrics.json'), model };
  });
}

/** A user's image folder as train/valid ImageSets (a seeded 90/10 split). */
async function imageFolderSplit(dir: string, shape: number[], seed: number, limitTrain?: number, limitValid?: number): Promise<[ImageSet, ImageSet]> {
  if (shape[0] !== 1) throw new Error(`--images supports single-channel models; this preset takes [${shape}]`);
  const all = await loadImageFolder(dir, { size: [shape[1]!, shape[2]!], grayscale: true });
  if (all.n < 2) throw new Error(`${dir}: need at least 2 images to split into train and valid, found ${all.n}`);
  const nValid = Math.max(1, Math.round(all.n * 0.1));
  const [validIdx, trainIdx] = randomSplit(all.n, [nValid, all.n - nValid], seed);
  const pick = (idx: Int32Array, limit?: number): ImageSet => {
    const ids = limit === undefined ? idx : idx.subarray(0, limit);
    const size = shape.reduce((a, b) => a * b, 1);
    const images = new Float32Array(ids.length * size);
    ids.forEach((i, k) => images.set(all.images.subarray(i * size, (i + 1) * size), k * size));
    return { images, labels: Uint8Array.from(ids, (i) => all.labels[i]!), n: ids.length, shape: all.shape, classNames: all.classNames };
  };
  return [pick(trainIdx!, limitTrain), pick(validIdx!, limitValid)];
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

export function lossCurves(history: TrainResult['history']): string {
  const x = history.map((r) => r.epoch);
  const series = [{ name: 'train loss', x, y: history.map((r) => r.train.loss!) }];
  if (history.some((r) => r.valid.loss !== undefined)) series.push({ name: 'valid loss', x, y: history.map((r) => r.valid.loss ?? NaN) });
  return lossCurvesSvg(series, { title: 'Reconstruction loss', xLabel: 'epoch', yLabel: 'loss' });
}
