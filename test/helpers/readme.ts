// Code blocks of README.md, so tests run what the README shows a user, verbatim.
import { readFileSync } from 'node:fs';

export const README = new URL('../../README.md', import.meta.url).pathname;

/** The fenced blocks of one language inside the README section that starts with `heading`. */
export function readmeBlocks(heading: string, lang: string): string[] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${README}: no section "${heading}"`);
  const next = text.indexOf('\n## ', start + heading.length + 1);
  const section = text.slice(start, next < 0 ? undefined : next);
  const blocks = [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
  if (!blocks.length) throw new Error(`${README}: section "${heading}" has no ${lang} block`);
  return blocks;
}
