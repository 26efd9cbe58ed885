// Ways to look at a run: `report` (one self-contained HTML file) and, registered from here so
// main.ts wires them with one line, the browser playground's `web-bundle` and `playground`.
import type { Command } from 'commander';
import { runCommand, dataDirOption, intArg } from './args.js';
import { formatOf, outputOption, reporter, writeOutput } from './output.js';
import { registerPlayground } from './playground.js';

export function registerReport(program: Command): void {
  runCommand(program, 'report', 'one self-contained HTML report: config, metrics, loss curves, reconstructions, latent scatter, anomaly scores (and VAE samples)')
    .addOption(outputOption('HTML file to write', 'report.html'))
    .option('--limit <N>', 'test images for the latent scatter and anomaly histogram', intArg, 1000)
    .option('--title <TEXT>', 'page title')
    .addOption(dataDirOption())
    .addHelpText('after', '\nThe file inlines its charts (Chart.js) and images, so it opens offline and can be mailed as is.\n\nExample:\n  latentkit report logs/trial_0_autoencoder -o report.html')
    .action(async (dir: string, o) => {
      const { buildReport } = await import('../tasks/report/report.js');
      formatOf(o.output, { '.html': 'html', '.htm': 'html' });
      if (o.limit < 1) throw new Error('--limit must be at least 1');
      const r = await buildReport(dir, { dataDir: o.dataDir, limit: o.limit, checkpoint: o.checkpoint, title: o.title });
      writeOutput(o.output, r.html);
      const kb = (Buffer.byteLength(r.html) / 1024).toFixed(0);
      const left = Object.keys(r.skipped);
      reporter(o).status(`wrote ${o.output} (${kb} KiB; ${r.sections.join(', ')}${left.length ? `; left out: ${left.join(', ')}` : ''})`);
    });
  registerPlayground(program);
}
