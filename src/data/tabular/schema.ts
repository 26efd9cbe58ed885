// Column types of a table, inferred from its values and overridable from JSON:
//   numeric      numbers (standardised or RankGauss-transformed)
//   binary       exactly two distinct values (0/1, yes/no, true/false)
//   categorical  a few distinct values (one-hot with an "unknown" bucket)
//   ignore       left out: identifiers, free text, constant columns (or by choice)
import { readFileSync } from 'node:fs';
import { quote } from '../../util/quote.js';
import { columnLabel, rowLabel, type Cell, type RawTable } from './table.js';

export type ColumnType = 'numeric' | 'binary' | 'categorical' | 'ignore';
export const COLUMN_TYPES: ColumnType[] = ['numeric', 'binary', 'categorical', 'ignore'];
export type NumericTransform = 'standard' | 'rankgauss' | 'none';

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  /** Numeric columns: overrides the preprocessor's default transform. */
  transform?: NumericTransform;
  /** Binary columns: the value read as 0, then the value read as 1. */
  categories?: string[];
  /** Missing cells in the table the schema was inferred from. */
  missing: number;
  /** Distinct non-missing values. */
  distinct: number;
  /** Why the column got its type, for people reading the schema. */
  reason: string;
}

export interface TableSchema {
  columns: ColumnSchema[];
}

/** Per column: a type name, or {type, transform?, categories?}. */
export type ColumnOverride = ColumnType | { type?: ColumnType; transform?: NumericTransform; categories?: string[] };
export type SchemaOverrides = Record<string, ColumnOverride>;

export interface InferOptions {
  overrides?: SchemaOverrides;
  /** Text columns with more distinct values than this are ignored as identifiers/free text (default 50). */
  maxCategories?: number;
  /**
   * A column whose non-missing values are numbers in at least this share (default 0.9) but not
   * all is taken as numeric with typos: the first non-number is reported (file, line, column).
   */
  numericShare?: number;
  /** Columns to leave out (e.g. the prediction target). */
  exclude?: string[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A cell as a finite number, or undefined when it is not one. */
export function cellNumber(v: Cell): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && NUMBER.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Number text, even one beyond float64's range (1e309): such a column is numeric, and the value an error. */
export const isNumberText = (v: Cell) => typeof v === 'string' && NUMBER.test(v);

/** The category key of a cell ("3" for 3 and "3.0" alike, so CSV and Parquet agree). */
export function cellKey(v: Cell): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string' && NUMBER.test(v)) return String(Number(v));
  return String(v);
}

/** A numeric column's cell as a finite number, or an error naming file, line and column. */
export function numericCell(t: RawTable, c: number, r: number): number {
  const cell = t.data[c]![r]!;
  const v = cellNumber(cell);
  if (v !== undefined) return v;
  if (isNumberText(cell))
    throw new Error(`${t.source}: ${rowLabel(t, r)}, ${columnLabel(t, c)}: ${quote(cell)} is beyond the largest number (1.8e308); fix or rescale the value`);
  throw textInNumericError(t, c, r);
}

export function textInNumericError(t: RawTable, c: number, r: number, extra = ''): Error {
  return new Error(
    `${t.source}: ${rowLabel(t, r)}, ${columnLabel(t, c)}: ${quote(t.data[c]![r])} is not a number, but the column is numeric${extra}. ` +
      `Fix the value, list it as a missing value, or declare the column "categorical" or "ignore" in the schema`,
  );
}

function overrideOf(o: ColumnOverride | undefined): { type?: ColumnType; transform?: NumericTransform; categories?: string[] } {
  if (o === undefined) return {};
  return typeof o === 'string' ? { type: o } : o;
}

/**
 * What type inference needs to know about a column, gathered in one pass over its cells (a whole
 * table, or chunk by chunk: see column-stats.ts).
 */
export interface ColumnSummary {
  missing: number;
  /** Cells that read as numbers (booleans excluded). */
  numbers: number;
  /** Count of each category key; undefined once more than a cap of distinct keys were seen. */
  keys: Map<string, number> | undefined;
  /** Distinct keys (a lower bound once `keys` is capped). */
  distinct: number;
  /** The first cell that is not number text, as a one-row table (for errors naming line and column). */
  firstText?: RawTable;
}

/** The table a schema is inferred for: its name, columns and row count. */
export type TableHead = Pick<RawTable, 'source' | 'columns' | 'nRows'>;

/** Column types from per-column summaries (ColumnStats of a whole table, or of one streamed in chunks). */
export function inferSchemaFrom(t: TableHead, summaries: ColumnSummary[], o: InferOptions = {}): TableSchema {
  const overrides = o.overrides ?? {};
  for (const name of Object.keys(overrides))
    if (!t.columns.includes(name)) throw new Error(`schema override for ${JSON.stringify(name)}: ${t.source} has no such column; columns are: ${t.columns.map((n) => JSON.stringify(n)).join(', ')}`);
  const maxCat = o.maxCategories ?? 50;
  const share = o.numericShare ?? 0.9;
  const columns = t.columns.map((name, c): ColumnSchema => {
    const col = inferColumn(name, c);
    // Streamed statistics stop counting distinct values at a cap: say so rather than print the cap as the count.
    return summaries[c]!.keys ? col : { ...col, reason: `${col.reason}; more than ${col.distinct - 1} distinct values (counting stopped there)` };
  });
  return { columns };

  function inferColumn(name: string, c: number): ColumnSchema {
    const ov = overrideOf(overrides[name]);
    const { missing, numbers, keys, distinct, firstText } = summaries[c]!;
    const textError = (extra: string) => textInNumericError(firstText!, c, 0, extra);
    const present = t.nRows - missing;
    const base = { name, missing, distinct };
    if (o.exclude?.includes(name) || ov.type === 'ignore') return { ...base, type: 'ignore', reason: ov.type === 'ignore' ? 'override' : 'excluded (target)' };
    if (present === 0)
      throw new Error(`${t.source}: ${columnLabel(t, c)} has no values (missing in all ${t.nRows} rows); remove it or set it to "ignore" in the schema`);
    const sortedKeys = () => [...(keys?.keys() ?? [])].sort((a, b) => (NUMBER.test(a) && NUMBER.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
    if (ov.type === 'numeric') {
      if (firstText) throw textError(' (declared in the schema)');
      return { ...base, type: 'numeric', transform: ov.transform, reason: 'override' };
    }
    if (ov.type === 'binary') {
      const cats = ov.categories ?? sortedKeys();
      if (cats.length !== 2) throw new Error(`${t.source}: ${columnLabel(t, c)} is declared binary but has ${distinct} distinct values (${sortedKeys().slice(0, 5).join(', ')}${distinct > 5 ? ', ...' : ''}); declare it "categorical"`);
      for (const k of keys?.keys() ?? []) if (!cats.includes(k)) throw new Error(`${t.source}: ${columnLabel(t, c)}: value ${JSON.stringify(k)} is not one of the declared binary categories ${JSON.stringify(cats)}`);
      return { ...base, type: 'binary', categories: cats, reason: 'override' };
    }
    if (ov.type === 'categorical') return { ...base, type: 'categorical', reason: 'override' };
    if (ov.type !== undefined) throw new Error(`schema override for ${JSON.stringify(name)}: unknown type ${JSON.stringify(ov.type)}; use one of ${COLUMN_TYPES.join(', ')}`);
    // Inference.
    if (distinct === 1) return { ...base, type: 'ignore', reason: `constant (${JSON.stringify(sortedKeys()[0])})` };
    if (distinct === 2) return { ...base, type: 'binary', categories: sortedKeys(), reason: 'two distinct values' };
    if (numbers === present) return { ...base, type: 'numeric', transform: ov.transform, reason: 'all values are numbers' };
    if (numbers >= share * present)
      throw textError(` (${((100 * numbers) / present).toFixed(1)}% of its values are numbers)`);
    if (distinct <= maxCat) return { ...base, type: 'categorical', reason: `${distinct} distinct text values` };
    return { ...base, type: 'ignore', reason: `${distinct} distinct text values (an identifier or free text; more than maxCategories ${maxCat})` };
  }
}

/**
 * Read overrides from JSON: either {"age": "numeric", "zip": {"type": "categorical"}} or the same
 * map under "columns" (so a schema written by `latentkit schema` can be edited and passed back).
 */
export function readSchemaOverrides(path: string): SchemaOverrides {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read schema: ${(e as Error).message}`);
  }
  return parseSchemaOverrides(raw, path);
}

export function parseSchemaOverrides(raw: unknown, source = 'schema'): SchemaOverrides {
  if (!raw || typeof raw !== 'object') throw new Error(`${source}: expected a JSON object mapping column names to types`);
  let map = raw as Record<string, unknown>;
  if (Array.isArray(map.columns)) {
    // The format `latentkit schema` writes: {"columns": [{"name", "type", ...}]}.
    map = Object.fromEntries((map.columns as Record<string, unknown>[]).map((c) => [String(c.name), { type: c.type, transform: c.transform, categories: c.categories }]));
  } else if (map.columns && typeof map.columns === 'object') map = map.columns as Record<string, unknown>;
  const out: SchemaOverrides = {};
  for (const [name, v] of Object.entries(map)) {
    const spec = typeof v === 'string' ? { type: v } : (v as Record<string, unknown>);
    if (!spec || typeof spec !== 'object') throw new Error(`${source}: column ${JSON.stringify(name)}: expected a type name or {"type": ...}`);
    if (spec.type !== undefined && !COLUMN_TYPES.includes(spec.type as ColumnType))
      throw new Error(`${source}: column ${JSON.stringify(name)}: unknown type ${JSON.stringify(spec.type)}; use one of ${COLUMN_TYPES.join(', ')}`);
    if (spec.transform !== undefined && !['standard', 'rankgauss', 'none'].includes(spec.transform as string))
      throw new Error(`${source}: column ${JSON.stringify(name)}: unknown transform ${JSON.stringify(spec.transform)}; use standard, rankgauss or none`);
    const o: { type?: ColumnType; transform?: NumericTransform; categories?: string[] } = {};
    if (spec.type !== undefined) o.type = spec.type as ColumnType;
    if (spec.transform !== undefined) o.transform = spec.transform as NumericTransform;
    if (spec.categories !== undefined && (spec.type === 'binary')) o.categories = (spec.categories as unknown[]).map(String);
    out[name] = o;
  }
  return out;
}

/** A one-line-per-column summary for the terminal. */
export function formatSchema(s: TableSchema): string {
  const w = Math.max(6, ...s.columns.map((c) => c.name.length));
  return s.columns
    .map((c) => `${c.name.padEnd(w)}  ${c.type.padEnd(11)}  ${String(c.distinct).padStart(6)} distinct  ${String(c.missing).padStart(6)} missing  ${c.reason}`)
    .join('\n');
}
