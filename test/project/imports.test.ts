// The source tree's imports point one way (type-only imports are erased at run time and do not
// count), checked with madge, the same tool and settings as `npx madge --circular src`:
// - no module import cycles;
// - no cycles between folders either (a folder is one layer: src/graph, src/train, ...; each
//   src/tasks/<family> counts as its own folder), so the layers of DESIGN.md form a stack;
// - no task family imports another: what two tasks share belongs to a layer below them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import madge from 'madge';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function importGraph(): Promise<Awaited<ReturnType<typeof madge>>> {
  const config = JSON.parse(readFileSync(`${ROOT}.madgerc`, 'utf8'));
  const graph = await madge(`${ROOT}src`, { ...config, baseDir: ROOT, tsConfig: `${ROOT}tsconfig.json` });
  assert.ok(Object.keys(graph.obj()).length > 50, 'madge found too few modules: the check would pass vacuously');
  return graph;
}

/** src/a/b.ts -> "a"; src/tasks/x/y.ts -> "tasks/x"; src/index.ts -> "." */
export function folderOf(file: string): string {
  const parts = file.replace(/^src\//, '').split('/');
  if (parts.length === 1) return '.';
  return parts[0] === 'tasks' ? `tasks/${parts[1]}` : parts[0]!;
}

/** Folder-level edges "a -> b" (a imports b), each with one example import. */
export function folderEdges(modules: Record<string, string[]>): Map<string, string> {
  const edges = new Map<string, string>();
  for (const [file, deps] of Object.entries(modules))
    for (const dep of deps) {
      const a = folderOf(file), b = folderOf(dep);
      if (a !== b && !edges.has(`${a} -> ${b}`)) edges.set(`${a} -> ${b}`, `${file} imports ${dep}`);
    }
  return edges;
}

/** Folders on a cycle (Tarjan's strongly connected components of size > 1). */
export function folderCycles(edges: Iterable<string>): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const [a, b] = e.split(' -> ') as [string, string];
    next.set(a, [...(next.get(a) ?? []), b]);
    if (!next.has(b)) next.set(b, []);
  }
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter), low.set(v, counter++), stack.push(v), onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do (w = stack.pop()!), onStack.delete(w), scc.push(w);
      while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

test('src/ has no import cycles', async () => {
  assert.deepEqual((await importGraph()).circular(), []);
});

test('folders import one way, and no task family imports another', async () => {
  const edges = folderEdges((await importGraph()).obj());
  const cycles = folderCycles(edges.keys());
  const explain = (scc: string[]) => [...edges].filter(([e]) => scc.includes(e.split(' -> ')[0]!) && scc.includes(e.split(' -> ')[1]!)).map(([e, why]) => `${e} (${why})`);
  assert.deepEqual(cycles.map(explain), [], 'folders that import each other');
  const sideways = [...edges].filter(([e]) => /^tasks\/\S+ -> tasks\//.test(e)).map(([e, why]) => `${e} (${why})`);
  assert.deepEqual(sideways, [], 'a task imports another task');
});

test('the folder check finds what it should', () => {
  const edges = folderEdges({ 'src/a/x.ts': ['src/b/y.ts'], 'src/b/y.ts': ['src/c/z.ts'], 'src/c/z.ts': ['src/a/w.ts'], 'src/tasks/p/q.ts': ['src/tasks/r/s.ts', 'src/a/x.ts'], 'src/index.ts': ['src/a/x.ts'] });
  assert.deepEqual([...edges.keys()], ['a -> b', 'b -> c', 'c -> a', 'tasks/p -> tasks/r', 'tasks/p -> a', '. -> a']);
  assert.deepEqual(folderCycles(edges.keys()), [['a', 'b', 'c']]);
  assert.deepEqual(folderCycles(['a -> b', 'b -> c']), []);
});
