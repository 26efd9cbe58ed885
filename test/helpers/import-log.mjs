// A module-resolution hook (node --import): prints every package a run imports to stderr as
// "import PACKAGE", so tests can see what a command loads.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
export async function resolve(spec, ctx, next) {
  if (/^[@a-z]/.test(spec) && !spec.startsWith('node:')) process.stderr.write('import ' + spec + '\\n');
  return next(spec, ctx);
}`));
