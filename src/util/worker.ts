// Start a worker thread from a module next to the caller, from the compiled JavaScript or from
// the TypeScript sources under tsx.
import { Worker } from 'node:worker_threads';

/**
 * `entry` is the worker's module URL without extension, resolved by the caller
 * (`new URL('./worker', import.meta.url)`); `fromTs` is whether the caller runs from .ts
 * sources. Compiled (dist/*.js) the worker is started directly; from the TypeScript sources a
 * two-line bootstrap registers tsx in the thread first, since Node 20 does not apply --import
 * or the parent's loader hooks to a worker's entry module.
 */
export function startModuleWorker(entry: URL, fromTs: boolean, workerData: unknown): Worker {
  if (!fromTs) return new Worker(new URL(`${entry.href}.js`), { workerData });
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const url = JSON.stringify(`${entry.href}.ts`);
  return new Worker(`import(${api}).then((m) => { m.register(); return import(${url}); });`, { eval: true, workerData });
}
