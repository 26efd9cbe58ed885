// Commands on a run's codes: embed (codes to Parquet plus an HNSW index), embed-eval (how good
// they are as features) and search (nearest neighbours). The work is in src/tasks/embed/.
import { Option, type Command } from 'commander';
import type { NeighborRow } from '../tasks/embed/search.js';
import { FASHION_MNIST_CLASSES } from '../data/fashion-mnist.js';
import { checkpointOption, runCommand, dataDirOption, intArg, positiveInt } from './args.js';
import { filesOutputOption, formatOf, jsonOption, outputOption, reporter, writeOutput } from './output.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
export const splitOption = () => new Option('--split <SPLIT>', 'Fashion-MNIST split').choices(['test', 'train']).default('test');
const className = (l: number) => (l >= 0 ? (FASHION_MNIST_CLASSES[l] ?? String(l)) : '-');

function neighborTable(ns: NeighborRow[]): string {
  const lines = ['rank      id  label  class         distance'];
  ns.forEach((x, i) => lines.push(`${String(i + 1).padStart(4)}  ${String(x.id).padStart(6)}  ${String(x.label).padStart(5)}  ${className(x.label).padEnd(12)}  ${x.distance.toFixed(6)}`));
  return lines.join('\n');
}

export function registerEmbed(program: Command): void {
  runCommand(program, 'embed', 'codes of a dataset split to Parquet (id, label, split, vector) plus an HNSW nearest-neighbour index beside it')
    .addOption(filesOutputOption('Parquet file to write (default RUN/embeddings/SPLIT.parquet); the index goes to the same name with .hnsw', 'a Parquet file and its index'))
    .addOption(jsonOption())
    .addOption(splitOption())
    .option('--limit <N>', 'embed the first N images of the split', intArg)
    .addOption(dataDirOption())
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
      const { embedRun } = await import('../tasks/embed/embed.js');
      const r = await embedRun(dir, { out: o.output, split: o.split, limit: o.limit, dataDir: o.dataDir, checkpoint: o.checkpoint, index: o.index, ann: { m: o.m, efConstruction: o.efConstruction, efSearch: o.efSearch } });
      const say = reporter(o);
      say.status(`wrote ${r.parquet} (${r.n} rows, ${r.dim}-number codes) in ${r.seconds.embed.toFixed(2)} s`);
      if (r.index) say.status(`wrote ${r.index} (HNSW index, ${r.n} vectors) in ${r.seconds.index.toFixed(2)} s`);
      if (o.json) say.result({ parquet: r.parquet, index: r.index ?? null, rows: r.n, dim: r.dim, seconds: r.seconds }, []);
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
    .addOption(outputOption('also write the table: .json or .md (Markdown)'))
    .addOption(jsonOption())
    .addOption(checkpointOption())
    .addHelpText('after', `
kNN agreement: for each test image, the fraction of its k nearest test images (itself left out,
Euclidean distance in code space) with the same label. Linear probe: logistic regression trained
on the standardised codes of the training split, accuracy on the test split.

Example:
  latentkit embed-eval logs/trial_0_autoencoder logs/trial_1_autoencoder -o embeddings.md`)
    .action(async (dirs: string[], o) => {
      const { evaluateEmbeddings, formatEmbeddingEval } = await import('../tasks/embed/evaluate.js');
      const format = o.output ? formatOf(o.output, { '.md': 'md', '.json': 'json' }) : undefined;
      const r = await evaluateEmbeddings(dirs, {
        k: o.k, limitTrain: o.limitTrain, limitTest: o.limitTest, dataDir: o.dataDir, checkpoint: o.checkpoint,
        raw: o.raw, pca: o.pca, pcaWidths: o.pcaWidths, probe: { epochs: o.probeEpochs },
        log: (l) => process.stderr.write(`${l}\n`),
      });
      const table = formatEmbeddingEval(r);
      if (o.output) writeOutput(o.output, format === 'json' ? JSON.stringify(r, null, 2) + '\n' : table + '\n');
      reporter(o).result(r, `Fashion-MNIST: probe trained on ${r.trainRows} images, scored on ${r.testRows}\n${table}`);
    });

  runCommand(program, 'search', 'nearest neighbours in code space: of a sample (--id) or an image file (--image); --eval measures the index', 'train (its encoder embeds --image)')
    .option('--id <I>', 'a sample id in the embeddings (its index in the split)', intArg)
    .option('--image <FILE>', 'a PNG/JPEG image, resized to the model input')
    .option('-k, --k <N>', 'number of neighbours', positiveInt, 10)
    .option('--index <PATH>', 'Parquet file written by embed (default the run\'s latest)')
    .option('--exact', 'brute-force search instead of the index')
    .option('--eval', 'recall@k of the index against exact search, and label agreement@k')
    .option('--queries <N>', 'with --eval: number of query rows (default all, at most 2000)', positiveInt)
    .addOption(jsonOption())
    .addHelpText('after', `
Examples:
  latentkit search logs/trial_0_autoencoder --id 42 --k 10
  latentkit search logs/trial_0_autoencoder --image shoe.png --k 5
  latentkit search logs/trial_0_autoencoder --eval --k 10`)
    .action(async (dir: string, o) => {
      const { EmbeddingSearch, encodeImageFile, evaluateSearch } = await import('../tasks/embed/search.js');
      const modes = [o.id !== undefined, !!o.image, !!o.eval].filter(Boolean).length;
      if (modes !== 1) throw new Error('give exactly one of --id I, --image FILE or --eval');
      const s = await EmbeddingSearch.forRun(dir, o.index);
      if (o.eval) {
        const r = evaluateSearch(s, { k: o.k, queries: o.queries });
        if (o.json) {
          out(JSON.stringify(r));
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
        out(JSON.stringify({ query: o.id !== undefined ? { id: o.id } : { image: o.image }, neighbours: ns.map(({ id, label, split, distance }) => ({ id, label, split, distance })) }));
        return;
      }
      if (o.id !== undefined) {
        const row = s.rowOf(o.id);
        out(`query: id ${o.id}, label ${s.embeddings.labels[row]} (${className(s.embeddings.labels[row]!)})`);
      } else out(`query: ${o.image}`);
      out(neighborTable(ns));
    });
}
