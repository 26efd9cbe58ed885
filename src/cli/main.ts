// The latentkit command line. Exit codes: 0 success, 1 failure, 2 usage error (unknown option,
// bad argument value, an output the command cannot write), as in POSIX utilities.
import { CommanderError } from 'commander';
import { UsageError } from './output.js';
import { buildProgram } from './program.js';

const USAGE_EXIT = 2;
const program = buildProgram();

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
