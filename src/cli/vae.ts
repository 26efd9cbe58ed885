// Commands for variational autoencoder runs: generate, interpolate, manifold, latent-plot.
// The work is in src/tasks/vae/vae.ts; these only parse arguments and write files.
import type { Command } from 'commander';
import { runCommand, countOption, dataDirOption, floatArg, intArg } from './args.js';
import { formatOf, outputOption, reporter, writeOutput } from './output.js';

const PNG_ONLY = { '.png': 'png' } as const;
const SVG_OR_PNG = { '.svg': 'svg', '.png': 'png' } as const;

export function registerVae(program: Command): void {
  runCommand(program, 'generate', 'decode samples from the prior N(0, I) into a PNG grid', 'train (a vae-mlp or vae-conv preset)')
    .addOption(outputOption('PNG to write', 'generated.png'))
    .addOption(countOption('number of samples', 64))
    .option('--seed <N>', 'seed of the latent samples', intArg, 0)
    .option('--std <X>', 'standard deviation of the samples ("temperature"; 1 = the prior)', floatArg, 1)
    .option('--cols <N>', 'images per row (default: a square grid)', intArg)
    .option('--scale <N>', 'pixel scale', intArg, 2)
    .addHelpText('after', '\nExamples:\n  latentkit generate logs/trial_3_autoencoder -o grid.png\n  latentkit generate runs/vae16 -n 100 --seed 7 -o samples.png')
    .action(async (dir: string, o) => {
      const { generateSamples, loadVaeRun, samplesPng } = await import('../tasks/vae/vae.js');
      formatOf(o.output, PNG_ONLY);
      const run = loadVaeRun(dir, o.checkpoint);
      const s = await generateSamples(run.model, { n: o.count, seed: o.seed, std: o.std });
      writeOutput(o.output, samplesPng(run.model, s.images, s.n, { cols: o.cols, scale: o.scale }));
      reporter(o).status(`wrote ${o.output} (${s.n} samples from a ${run.model.latent}-number latent, seed ${o.seed})`);
    });

  runCommand(program, 'interpolate', 'decode codes on the line between two test images: a strip from one image to the other', 'train (a VAE preset)')
    .addOption(outputOption('PNG to write', 'interpolation.png'))
    .requiredOption('--from <I>', 'test-set index of the first image', intArg)
    .requiredOption('--to <J>', 'test-set index of the last image', intArg)
    .option('--steps <N>', 'decoded points, both codes included', intArg, 10)
    .option('--scale <N>', 'pixel scale', intArg, 2)
    .addOption(dataDirOption())
    .addHelpText('after', '\nThe strip shows image I, the decoded points from code(I) to code(J), then image J.\n\nExample:\n  latentkit interpolate logs/trial_3_autoencoder --from 0 --to 1 --steps 10 -o strip.png')
    .action(async (dir: string, o) => {
      const { interpolateImages, loadVaeRun, samplesPng } = await import('../tasks/vae/vae.js');
      const { dataSource, loadFashionMnist } = await import('../data/fashion-mnist.js');
      formatOf(o.output, PNG_ONLY);
      const run = loadVaeRun(dir, o.checkpoint);
      const data = await loadFashionMnist('test', dataSource(o.dataDir));
      const r = await interpolateImages(run.model, data.images, data.n, o.from, o.to, o.steps);
      writeOutput(o.output, samplesPng(run.model, r.strip, o.steps + 2, { cols: o.steps + 2, scale: o.scale }));
      const cls = (i: number) => data.classNames[data.labels[i]!];
      reporter(o).status(`wrote ${o.output} (test image ${o.from} (${cls(o.from)}) to ${o.to} (${cls(o.to)}) in ${o.steps} steps, originals at both ends)`);
    });

  runCommand(program, 'manifold', 'the learned 2-D latent manifold: a grid of codes at normal quantiles, decoded into one image', 'train (a VAE with a 2-number latent)')
    .addOption(outputOption('PNG to write', 'manifold.png'))
    .option('--size <N>', 'grid side (size x size images)', intArg, 20)
    .option('--scale <N>', 'pixel scale', intArg, 1)
    .addHelpText('after', '\nCodes are the standard normal quantiles of 0.05 ... 0.95: z1 left to right, z2 bottom to top.\n\nExamples:\n  latentkit train --preset vae-mlp --bottleneck 2 --out runs/vae2\n  latentkit manifold runs/vae2 -o manifold.png --size 20')
    .action(async (dir: string, o) => {
      const { latentManifold, loadVaeRun, samplesPng } = await import('../tasks/vae/vae.js');
      formatOf(o.output, PNG_ONLY);
      const run = loadVaeRun(dir, o.checkpoint);
      const r = await latentManifold(run.model, { size: o.size });
      writeOutput(o.output, samplesPng(run.model, r.images, r.n, { cols: r.size, scale: o.scale, pad: 0 }));
      reporter(o).status(`wrote ${o.output} (${r.size}x${r.size} decoded codes, z from ${r.axis[0]!.toFixed(2)} to ${r.axis[r.size - 1]!.toFixed(2)})`);
    });

  runCommand(program, 'latent-plot', 'scatter plot of test-set codes coloured by label (PCA to 2-D when the latent is wider); SVG or PNG by the extension of -o', 'train (a VAE preset)')
    .addOption(outputOption('file to write (.svg or .png)', 'latent.svg'))
    .option('--limit <N>', 'plot the first N test images', intArg, 5000)
    .addOption(dataDirOption())
    .addHelpText('after', '\nExamples:\n  latentkit latent-plot runs/vae2 -o latent.svg\n  latentkit latent-plot runs/vae16 --limit 10000 -o latent.png')
    .action(async (dir: string, o) => {
      const { encodeImages, latentPoints, latentScatterSvg, loadVaeRun, svgToPng } = await import('../tasks/vae/vae.js');
      const { dataSource, loadFashionMnist } = await import('../data/fashion-mnist.js');
      const format = formatOf(o.output, SVG_OR_PNG);
      const run = loadVaeRun(dir, o.checkpoint);
      if (o.limit < 1) throw new Error('--limit must be at least 1');
      const data = await loadFashionMnist('test', { ...dataSource(o.dataDir), limit: o.limit });
      const codes = await encodeImages(run.model, data.images, data.n);
      const pts = latentPoints(codes, data.n, run.model.latent);
      const title = `${run.modelConfig.preset}: codes of ${data.n} test images${run.model.latent > 2 ? ` (PCA of ${run.model.latent} dims)` : ''}`;
      const svg = latentScatterSvg(pts, data.labels, { classNames: data.classNames, title });
      writeOutput(o.output, format === 'png' ? await svgToPng(svg) : svg);
      reporter(o).status(`wrote ${o.output} (${data.n} points; axes ${pts.xLabel} / ${pts.yLabel})`);
    });
}
