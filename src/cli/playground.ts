// Commands for the browser playground: web-bundle writes what the page loads from model/,
// playground serves the built page (web/dist) with a run's bundle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { runCommand, dataDirOption, intArg } from './args.js';
import { outputDirOption } from './output.js';
import { onStopSignal } from '../util/stop-signals.js';

export function registerPlayground(program: Command): void {
  runCommand(program, 'web-bundle', 'export a run for the browser playground: ONNX models, manifest, an embedding set and an in-browser training bundle')
    .addOption(outputDirOption('folder to write', 'web/public/model'))
    .option('--neighbours <N>', 'test images in the nearest-neighbour set', intArg, 500)
    .option('--train-samples <N>', 'training images for in-browser training', intArg, 320)
    .addOption(dataDirOption())
    .addHelpText('after', '\nExample:\n  latentkit web-bundle logs/trial_0_autoencoder -o site/model')
    .action(async (dir: string, o) => {
      const { writeWebBundle } = await import('../tasks/playground/web-bundle.js');
      const r = await writeWebBundle(dir, o.output, { dataDir: o.dataDir, checkpoint: o.checkpoint, neighbours: o.neighbours, trainSamples: o.trainSamples });
      process.stdout.write(`wrote ${r.dir}/{${r.files.join(',')}} (${r.codeSize}-number code, ${r.neighbours} neighbours, ${r.trainSamples} training images)\n`);
    });

  runCommand(program, 'playground', 'serve the browser playground for a run: draw, reconstruct, walk the latent space, train in the page')
    .alias('serve-web')
    .option('--port <N>', 'port to listen on (0: any free port)', intArg, 8080)
    .option('--host <HOST>', 'address to listen on', '127.0.0.1')
    .option('--web-dir <DIR>', 'built playground (default: web/dist of latentkit; build it with `npm run build:web`)')
    .addOption(dataDirOption())
    .addHelpText('after', '\nExample:\n  latentkit playground logs/trial_0_autoencoder --port 8080   then open http://127.0.0.1:8080/')
    .action(async (dir: string, o) => {
      const { startPlaygroundServer } = await import('../tasks/playground/server.js');
      const { writeWebBundle } = await import('../tasks/playground/web-bundle.js');
      const modelDir = mkdtempSync(join(tmpdir(), 'latentkit-playground-'));
      const cleanup = () => rmSync(modelDir, { recursive: true, force: true });
      try {
        await writeWebBundle(dir, modelDir, { dataDir: o.dataDir, checkpoint: o.checkpoint });
        const s = await startPlaygroundServer({ modelDir, distDir: o.webDir, port: o.port, host: o.host });
        process.stdout.write(`playground for ${dir} at ${s.url} (Ctrl-C to stop)\n`);
        onStopSignal(() =>
          void s.close().then(() => {
            cleanup();
            process.exit(0);
          }),
        );
      } catch (e) {
        cleanup();
        throw e;
      }
    });
}
