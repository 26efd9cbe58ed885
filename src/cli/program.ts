// The latentkit command tree: every command, its options and help, without running anything
// (main.ts runs it; tests inspect it). Conventions: see README "Command line" and output.ts.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAnomaly } from './anomaly.js';
import { registerCompress } from './compress.js';
import { registerEmbed } from './embed.js';
import { registerExplain } from './explain.js';
import { registerReport } from './report.js';
import { registerRunCommands } from './image.js';
import { registerSeq } from './seq.js';
import { registerTabular } from './tabular.js';
import { registerTrain } from './train.js';
import { registerServe } from './serve.js';
import { registerVae } from './vae.js';

// package.json sits two levels up from both src/cli/ and dist/cli/.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('latentkit')
    .version(version, '-V, --version', 'print the version and exit')
    .exitOverride() // inherited by every subcommand, so usage errors reach main.ts as exceptions
    .description('Autoencoders for TypeScript: train, inspect and use them from the command line.')
    .showHelpAfterError('(latentkit COMMAND --help shows the options and examples)')
    .addHelpText('after', `
Examples:
  latentkit train --preset seed-cnn                 the chapter's experiment (20 epochs, Fashion-MNIST)
  latentkit eval logs/trial_0_autoencoder           valid MSE, PSNR and SSIM of the best checkpoint
  latentkit reconstruct logs/trial_0_autoencoder -o recon.png
  latentkit explain conv-transpose                  the chapter's Figure 5.3, computed`);

  registerTrain(program);
  registerRunCommands(program);
  registerSeq(program);
  registerTabular(program);
  registerExplain(program);
  registerReport(program);
  registerEmbed(program);
  registerAnomaly(program);
  registerCompress(program);
  registerServe(program);
  registerVae(program);
  return program;
}
