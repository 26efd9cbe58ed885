// Commands that use the bottleneck: embed, search, anomaly, compress, decompress, serve.
// Thin wrappers: the work is in src/apps/ and src/serve/.
import { Option, type Command } from 'commander';
import { anomalyRun } from '../apps/anomaly.js';
import { compressRun, decompressFile, CODE_DTYPES, type CodeDtype } from '../apps/compress.js';
import { embedRun } from '../apps/embed.js';
import { evaluateEmbeddings, formatEmbeddingEval } from '../apps/embedding-eval.js';
import { EmbeddingSearch, encodeImageFile, evaluateSearch, type NeighborRow } from '../apps/search.js';
import { writeFileAtomic } from '../data/atomic.js';
import { FASHION_MNIST_CLASSES } from '../data/fashion-mnist.js';
import { writeIdx } from '../data/idx.js';
import { serve } from '../serve/server.js';
import { imageGridPng, savePng } from '../viz/png.js';
import { checkpointOption, dataDirOption, floatArg, intArg, positiveInt } from './args.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const splitOption = () => new Option('--split <SPLIT>', 'Fashion-MNIST split').choices(['test', 'train']).default('test');
const className = (l: number) => (l >= 0 ? (FASHION_MNIST_CLASSES[l] ?? String(l)) : '-');

function classList(v: string): number[] {
  const xs = v.split(',').map((s) => intArg(s.trim()));
  if (xs.some((x) => x >= FASHION_MNIST_CLASSES.length)) throw new Error(`--normal: classes are 0..${FASHION_MNIST_CLASSES.length - 1}, got "${v}"`);
  return xs;
}

function neighborTable(ns: NeighborRow[]): string {
  const lines = ['rank      id  label  class         distance'];
  ns.forEach((x, i) => lines.push(`${String(i + 1).padStart(4)}  ${String(x.id).padStart(6)}  ${String(x.label).padStart(5)}  ${className(x.label).padEnd(12)}  ${x.distance.toFixed(6)}`));
  return lines.join('\n');
}

export function registerEmbeddings(program: Command): void {
  program
    .command('embed')
    .argument('<run>', 'run folder written by train')
    .description('codes of a dataset split to Parquet (id, label, split, vector) plus an HNSW nearest-neighbour index beside it')
    .option('-o, --output <PATH>', 'Parquet file to write (default RUN/embeddings/SPLIT.parquet); the index goes to the same name with .hnsw')
    .addOption(splitOption())
    .option('--limit <N>', 'embed the first N images of the split', intArg)
    .addOption(dataDirOption())
    .addOption(checkpointOption())
    .option('--no-index', 'write the Parquet file only')
    .option('--m <N>', 'HNSW graph degree', positiveInt, 16)
    .option('--ef-construction <N>', 'HNSW build-time candidate list', positiveInt, 200)
    .option('--ef-search <N>', 'HNSW search-time candidate list (saved with the index)', positiveInt, 64)
    .addHelpText('after', `
The run remembers the last file written (RUN/embeddings/latest.json), which search and serve use by default.

Examples:
  latentkit embed logs/trial_0_autoencoder -o codes.parquet
  latentkit embed logs/trial_0_autoencoder --split train --limit 20000 -o train-codes.parquet
  python3 -c "import pandas; print(pandas.read_parquet('codes.parquet').head())"`)
    .action(async (dir: string, o) => {
      const r = await embedRun(dir, { out: o.output, split: o.split, limit: o.limit, dataDir: o.dataDir, checkpoint: o.checkpoint, index: o.index, ann: { m: o.m, efConstruction: o.efConstruction, efSearch: o.efSearch } });
      out(`wrote ${r.parquet} (${r.n} rows, ${r.dim}-number codes) in ${r.seconds.embed.toFixed(2)} s`);
      if (r.index) out(`wrote ${r.index} (HNSW index, ${r.n} vectors) in ${r.seconds.index.toFixed(2)} s`);
    });

  program
    .command('embed-eval')
    .argument('<runs...>', 'run folders written by train')
    .description('how good the codes are as features: kNN label agreement@k and linear-probe accuracy on Fashion-MNIST, against raw pixels and PCA of the same width')
    .option('-k, --k <N>', 'neighbours for label agreement', positiveInt, 10)
    .option('--limit-train <N>', 'use the first N training images (probe training and PCA fit)', positiveInt)
    .option('--limit-test <N>', 'use the first N test images', positiveInt)
    .option('--probe-epochs <N>', 'epochs of the logistic-regression probe', positiveInt, 20)
    .option('--no-raw', 'leave out the raw-pixel baseline')
    .option('--no-pca', 'leave out the PCA baselines')
    .option('--pca-widths <LIST>', 'PCA baseline widths, e.g. 2,4 (default the runs\' code widths)', (v: string) => v.split(',').map((x) => positiveInt(x.trim())))
    .addOption(dataDirOption())
    .option('-o, --output <FILE>', 'also write the table: JSON if FILE ends in .json, else Markdown')
    .option('--json', 'print JSON instead of the table')
    .addOption(checkpointOption())
    .addHelpText('after', `
kNN agreement: for each test image, the fraction of its k nearest test images (itself left out,
Euclidean distance in code space) with the same label. Linear probe: logistic regression trained
on the standardised codes of the training split, accuracy on the test split.

Example:
  latentkit embed-eval logs/trial_0_autoencoder logs/trial_1_autoencoder -o embeddings.md`)
    .action(async (dirs: string[], o) => {
      const r = await evaluateEmbeddings(dirs, {
        k: o.k, limitTrain: o.limitTrain, limitTest: o.limitTest, dataDir: o.dataDir, checkpoint: o.checkpoint,
        raw: o.raw, pca: o.pca, pcaWidths: o.pcaWidths, probe: { epochs: o.probeEpochs },
        log: (l) => process.stderr.write(`${l}\n`),
      });
      const table = formatEmbeddingEval(r);
      if (o.output) writeFileAtomic(o.output, String(o.output).endsWith('.json') ? JSON.stringify(r, null, 2) + '\n' : table + '\n');
      out(o.json ? JSON.stringify(r, null, 2) : `Fashion-MNIST: probe trained on ${r.trainRows} images, scored on ${r.testRows}\n${table}`);
    });

  program
    .command('search')
    .argument('<run>', 'run folder written by train (its encoder embeds --image)')
    .description('nearest neighbours in code space: of a sample (--id) or an image file (--image); --eval measures the index')
    .option('--id <I>', 'a sample id in the embeddings (its index in the split)', intArg)
    .option('--image <FILE>', 'a PNG/JPEG image, resized to the model input')
    .option('-k, --k <N>', 'number of neighbours', positiveInt, 10)
    .option('--index <PATH>', 'Parquet file written by embed (default the run\'s latest)')
    .option('--exact', 'brute-force search instead of the index')
    .option('--eval', 'recall@k of the index against exact search, and label agreement@k')
    .option('--queries <N>', 'with --eval: number of query rows (default all, at most 2000)', positiveInt)
    .option('--json', 'print JSON')
    .addOption(checkpointOption())
    .addHelpText('after', `
Examples:
  latentkit search logs/trial_0_autoencoder --id 42 --k 10
  latentkit search logs/trial_0_autoencoder --image shoe.png --k 5
  latentkit search logs/trial_0_autoencoder --eval --k 10`)
    .action(async (dir: string, o) => {
      const modes = [o.id !== undefined, !!o.image, !!o.eval].filter(Boolean).length;
      if (modes !== 1) throw new Error('give exactly one of --id I, --image FILE or --eval');
      const s = await EmbeddingSearch.forRun(dir, o.index);
      if (o.eval) {
        const r = evaluateSearch(s, { k: o.k, queries: o.queries });
        if (o.json) {
          out(JSON.stringify(r, null, 2));
          return;
        }
        out(`${r.queries} queries over ${r.rows} codes, k = ${r.k}`);
        out(`recall@${r.k} (HNSW vs exact): ${r.recallAtK.toFixed(4)}`);
        out(`label agreement@${r.k}: ${r.labelAgreementAtK.toFixed(4)} (HNSW), ${r.labelAgreementExactAtK.toFixed(4)} (exact)`);
        out(`ms per query: ${r.annMs.toFixed(4)} (HNSW), ${r.exactMs.toFixed(4)} (exact)`);
        return;
      }
      let ns: NeighborRow[];
      if (o.id !== undefined) ns = s.searchId(o.id, o.k, { exact: o.exact });
      else {
        const v = await encodeImageFile(dir, o.image, o.checkpoint);
        if (v.length !== s.embeddings.dim) throw new Error(`the run's codes have ${v.length} numbers, the embeddings ${s.embeddings.dim}: pass --index for this run's embeddings`);
        ns = s.searchVector(v, o.k, { exact: o.exact });
      }
      if (o.json) {
        out(JSON.stringify(ns.map(({ id, label, split, distance }) => ({ id, label, split, distance })), null, 2));
        return;
      }
      if (o.id !== undefined) {
        const row = s.rowOf(o.id);
        out(`query: id ${o.id}, label ${s.embeddings.labels[row]} (${className(s.embeddings.labels[row]!)})`);
      } else out(`query: ${o.image}`);
      out(neighborTable(ns));
    });

  program
    .command('anomaly')
    .argument('<run>', 'run folder written by train')
    .description('anomaly scores (reconstruction error) per sample, a threshold, a per-pixel heat map; AUROC and AP with --normal')
    .option('-o, --output <PATH>', 'CSV to write: id,label,score,anomaly[,truth]')
    .addOption(splitOption())
    .option('--limit <N>', 'score the first N images of the split', intArg)
    .option('--normal <LIST>', 'normal classes, e.g. 0 or 5,7,9: the other classes are the anomalies (AUROC, AP)', classList)
    .addOption(new Option('--fit <FROM>', 'threshold from: valid (normal train-split images, contamination = accepted false-positive rate) or self (the scored data, contamination = expected anomaly fraction)').choices(['valid', 'self']).default('valid'))
    .option('--contamination <R>', 'fraction above the threshold on the fit data', floatArg, 0.05)
    .option('--valid-start <N>', 'first train-split index of the validation images (default the first the run did not train on)', intArg)
    .option('--valid-count <N>', 'train-split images to draw validation images from', positiveInt, 2000)
    .option('--threshold <X>', 'a fixed threshold instead of --fit', floatArg)
    .option('--heatmap <PATH>', 'PNG of the most anomalous samples: image, reconstruction, per-pixel squared error')
    .option('--top <N>', 'samples in the heat map', positiveInt, 10)
    .addOption(dataDirOption())
    .option('--json <PATH>', 'also write the summary as JSON')
    .addOption(checkpointOption())
    .addHelpText('after', `
Examples:
  latentkit anomaly runs/sneakers --normal 7 --heatmap worst.png -o scores.csv
  latentkit anomaly logs/trial_0_autoencoder --fit self --contamination 0.02 --heatmap odd.png`)
    .action(async (dir: string, o) => {
      const r = await anomalyRun(dir, { split: o.split, limit: o.limit, dataDir: o.dataDir, checkpoint: o.checkpoint, normal: o.normal, fit: o.fit, contamination: o.contamination, validStart: o.validStart, validCount: o.validCount, threshold: o.threshold, csv: o.output, heatmap: o.heatmap, top: o.top });
      const from = r.thresholdFrom === 'fixed' ? 'given' : r.thresholdFrom === 'self' ? `contamination ${r.contamination} of the scored data` : `${(1 - r.contamination) * 100}th percentile of ${r.valid!.count} normal validation images (train ${r.valid!.start}..)${r.valid!.seenInTraining ? '; note: the run trained on these images' : ''}`;
      out(`${r.n} ${r.split} images scored; threshold ${r.threshold.toPrecision(6)} (${from}); ${r.flagged} flagged (${((100 * r.flagged) / r.n).toFixed(1)}%)`);
      if (r.auroc !== undefined) {
        const c = r.counts!;
        out(`normal classes ${o.normal.join(',')}: AUROC ${r.auroc.toFixed(4)}  average precision ${r.averagePrecision!.toFixed(4)}  (anomalies: ${c.tp + c.fn} of ${r.n})`);
        out(`at the threshold: precision ${c.precision.toFixed(4)}  recall ${c.recall.toFixed(4)}  F1 ${c.f1.toFixed(4)}`);
      }
      if (o.output) out(`wrote ${o.output}`);
      if (o.heatmap) out(`wrote ${o.heatmap} (top ${r.top!.length}: ids ${r.top!.join(', ')})`);
      if (o.json) {
        const { scores: _s, predictions: _p, ids: _i, classLabels: _l, truth: _t, ...summary } = r;
        writeFileAtomic(o.json, JSON.stringify(summary, null, 2) + '\n');
      }
    });

  program
    .command('compress')
    .argument('<run>', 'run folder written by train')
    .description('store images as their codes plus the decoder weights (.lkc); prints the ratio and round-trip PSNR/SSIM')
    .requiredOption('-o, --output <PATH>', 'file to write (e.g. codes.lkc)')
    .addOption(new Option('--dtype <T>', 'code precision').choices([...CODE_DTYPES]).default('float32'))
    .addOption(splitOption())
    .option('--limit <N>', 'compress the first N images of the split', intArg)
    .addOption(dataDirOption())
    .addOption(checkpointOption())
    .addHelpText('after', `
The ratio compares with 8-bit pixels (the IDX files). int8 stores each code number in one byte
(per-dimension min/max scale); float16 in two.

Examples:
  latentkit compress logs/trial_0_autoencoder -o test.lkc
  latentkit compress logs/trial_0_autoencoder --dtype int8 -o test-int8.lkc
  latentkit decompress test-int8.lkc -o recon.png`)
    .action(async (dir: string, o) => {
      const r = await compressRun(dir, { out: o.output, dtype: o.dtype as CodeDtype, split: o.split, limit: o.limit, dataDir: o.dataDir, checkpoint: o.checkpoint });
      out(`wrote ${r.path}: ${r.n} images, ${r.dtype} codes`);
      out(`size: ${r.rawBytes} bytes of pixels -> ${r.fileBytes} bytes (codes ${r.codesBytes}, decoder ${r.decoderBytes}, header ${r.fileBytes - r.codesBytes - r.decoderBytes})`);
      out(`compression ratio: ${r.ratio.toFixed(1)}x with the decoder, ${r.codesRatio.toFixed(1)}x codes alone`);
      out(`round trip: PSNR ${r.roundTrip.psnr.toFixed(2)} dB  SSIM ${r.roundTrip.ssim.toFixed(4)}  MSE ${r.roundTrip.mse.toFixed(6)}`);
      out(`float32 codes: PSNR ${r.reference.psnr.toFixed(2)} dB  SSIM ${r.reference.ssim.toFixed(4)}  MSE ${r.reference.mse.toFixed(6)}`);
    });

  program
    .command('decompress')
    .argument('<file>', '.lkc file written by compress')
    .description('decode a .lkc file with the decoder weights inside it, to a PNG grid or an IDX file')
    .requiredOption('-o, --output <PATH>', '.png (a grid of the first --count images) or .idx / .idx.gz (all images, uint8)')
    .option('--count <N>', 'images in the PNG grid', positiveInt, 100)
    .option('--scale <N>', 'PNG pixel scale', positiveInt, 1)
    .option('--compare', 'also load the original images and print PSNR/SSIM')
    .addOption(dataDirOption('Fashion-MNIST folder (with --compare)'))
    .addHelpText('after', `
Examples:
  latentkit decompress test.lkc -o recon.png --count 64 --scale 2
  latentkit decompress test.lkc -o recon-images-idx3-ubyte.gz --compare`)
    .action(async (file: string, o) => {
      const path = String(o.output);
      const isPng = path.toLowerCase().endsWith('.png');
      if (!isPng && !/\.idx(\.gz)?$|-ubyte(\.gz)?$/i.test(path)) throw new Error(`-o ${path}: use a .png, .idx, .idx.gz (or *-ubyte[.gz]) name`);
      const r = await decompressFile(file, { compare: o.compare, dataDir: o.dataDir });
      const { n, inputShape } = r.header;
      const [c, h, w] = inputShape as [number, number, number];
      if (isPng) {
        const count = Math.min(n, o.count);
        savePng(path, imageGridPng(r.recon, { n: count, channels: c as 1 | 3, height: h, width: w, cols: Math.ceil(Math.sqrt(count)), scale: o.scale }));
        out(`wrote ${path} (${count} of ${n} images)`);
      } else {
        const px = Uint8Array.from(r.recon, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
        writeIdx(path, { shape: c === 1 ? [n, h, w] : [n, c, h, w], data: px });
        out(`wrote ${path} (${n} images, uint8)`);
      }
      if (r.quality) out(`vs the originals: PSNR ${r.quality.psnr.toFixed(2)} dB  SSIM ${r.quality.ssim.toFixed(4)}  MSE ${r.quality.mse.toFixed(6)}`);
    });

  program
    .command('serve')
    .argument('<run>', 'run folder written by train')
    .description('HTTP service: /embed, /reconstruct, /score, /search, /health, /metrics (and /generate for VAEs)')
    .option('-p, --port <N>', 'port (0 picks a free one)', intArg, 8080)
    .option('--host <HOST>', 'address to bind', '127.0.0.1')
    .option('--workers <N>', 'inference worker threads (0: in the HTTP thread)', intArg)
    .option('--index <PATH>', 'embeddings for /search (default the run\'s latest from embed)')
    .option('--no-index', 'serve without /search')
    .option('--threshold <X>', '/score flags samples above this reconstruction MSE', floatArg)
    .option('--max-batch <N>', 'most samples in one request, and in one merged onnxruntime call', positiveInt, 256)
    .option('--body-limit <BYTES>', 'largest request body', positiveInt, 8 * 1024 * 1024)
    .option('--log', 'log each request (JSON lines on stdout)')
    .option('--token <TOKEN>', 'require "Authorization: Bearer TOKEN" on every request (default: LATENTKIT_TOKEN; required with a --host beyond localhost)')
    .option('--insecure', 'allow a --host beyond localhost without a token')
    .option('--max-connections <N>', 'most open connections', positiveInt, 1024)
    .addOption(checkpointOption())
    .addHelpText('after', `
Bodies: JSON {"images": [[...784 numbers...]]} or {"png": ["<base64>"]}; one image as
Content-Type image/png; raw float32 samples as application/octet-stream. Accept: image/png
(reconstruct, generate) or application/octet-stream (embed, reconstruct, generate) for binary
answers. VAE runs also answer POST /generate {"n": 16, "seed": 0, "std": 1} (samples from the prior).

Examples:
  latentkit serve logs/trial_0_autoencoder --port 8080
  curl -s localhost:8080/health
  curl -s -H 'Content-Type: image/png' --data-binary @shoe.png localhost:8080/embed
  curl -s -H 'Content-Type: image/png' -H 'Accept: image/png' --data-binary @shoe.png localhost:8080/reconstruct -o recon.png
  curl -s -H 'Content-Type: application/json' -d '{"id": 42, "k": 5}' localhost:8080/search`)
    .action(async (dir: string, o) => {
      const s = await serve(dir, {
        port: o.port, host: o.host, workers: o.workers, index: o.index === true ? undefined : o.index, threshold: o.threshold, maxBatch: o.maxBatch, maxRequestBatch: o.maxBatch,
        bodyLimit: o.bodyLimit, logger: !!o.log, checkpoint: o.checkpoint, token: o.token ?? (process.env.LATENTKIT_TOKEN || undefined), insecure: !!o.insecure, maxConnections: o.maxConnections,
      });
      const st = s.pool.stats();
      process.stderr.write(`latentkit serve: ${dir} on ${s.url} (${st.executors} inference ${st.executors === 1 ? 'executor' : 'executors'}${s.search ? `, /search over ${s.search.embeddings.n} codes` : ', no /search index'})\n`);
    });
}
