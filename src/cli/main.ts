// The latentkit command line. Conventions: a command that reads a run takes the run folder as
// its first argument; a command that writes a file takes -o PATH. Exit codes: 0 success,
// 1 failure, 2 usage error (unknown option, bad argument value), as in POSIX utilities.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerEmbeddings } from './embeddings.js';
import { registerExplain } from './explain.js';
import { registerReport } from './report.js';
import { registerRunCommands } from './run-commands.js';
import { registerSeq } from './seq.js';
import { registerTabular } from './tabular.js';
import { registerTrain } from './train.js';
import { registerVae } from './vae.js';
import { UsageError } from './output.js';

// package.json sits two levels up from both src/cli/ and dist/cli/.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const USAGE_EXIT = 2;
const program = new Command('latentkit')
  .version(version, '-V, --version', 'print the version and exit')
  .exitOverride() // inherited by every subcommand, so usage errors reach the handler below
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
registerEmbeddings(program);
registerVae(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has already printed the help, version or usage message.
    const informational = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(e.code);
    process.exit(informational ? e.exitCode : USAGE_EXIT);
  }
  if (e instanceof UsageError) {
    process.stderr.write(`latentkit: error: ${e.message}\n`);
    process.exit(USAGE_EXIT);
  }
  // One line, no stack: the message names the file, key or layer and the fix.
  process.stderr.write(`latentkit: error: ${(e as Error).message}\n`);
  if (process.env.LATENTKIT_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
}
