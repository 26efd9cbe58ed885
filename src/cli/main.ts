// The latentkit command line. Conventions: a command that reads a run takes the run folder as
// its first argument; a command that writes a file takes -o PATH.
import { Command } from 'commander';
import { registerEmbeddings } from './embeddings.js';
import { registerExplain } from './explain.js';
import { registerReport } from './report.js';
import { registerRunCommands } from './run-commands.js';
import { registerSeq } from './seq.js';
import { registerTabular } from './tabular.js';
import { registerTrain } from './train.js';
import { registerVae } from './vae.js';

const program = new Command('latentkit')
  .description('Autoencoders for TypeScript: train, inspect and use them from the command line.')
  .showHelpAfterError()
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
registerEmbeddings(program);
registerVae(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // One line, no stack: the message names the file, key or layer and the fix.
  process.stderr.write(`latentkit: error: ${(e as Error).message}\n`);
  if (process.env.LATENTKIT_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
}
