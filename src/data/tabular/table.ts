// Raw tables read from CSV (csv-parse) or Parquet (hyparquet): column-major cells, missing
// values as null, and where each row came from (CSV line or Parquet row) for error messages.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';

export type Cell = string | number | boolean | null;

export interface RawTable {
  /** File the table came from (or a label for in-memory tables); named in every error. */
  source: string;
  format: 'csv' | 'parquet' | 'memory';
  columns: string[];
  /** data[c][r]: the cell of row r in column c; null is a missing value. */
  data: Cell[][];
  nRows: number;
  /** Where each row came from, 1-based: its line in a CSV file, else its row number in the source. */
  rowNumbers: Int32Array;
}

/** Tokens read as a missing value in CSV files (after trimming), as pandas does by default. */
export const DEFAULT_MISSING = ['', 'NA', 'N/A', 'n/a', 'NaN', 'nan', 'NAN', 'null', 'NULL', 'None', '?', '#N/A', '-nan'];

export interface CsvOptions {
  /** Field delimiter (default ',' or a tab for .tsv files). */
  delimiter?: string;
  /** First record holds the column names (default true); without it columns are col1..colN. */
  header?: boolean;
  /** Lines to skip before the header/first record (e.g. scikit-learn's 1-line preamble). */
  skipLines?: number;
  /** Cell texts that mean "missing" (default DEFAULT_MISSING). */
  missingValues?: string[];
  /** Read at most this many data rows. */
  limit?: number;
}

/** "line 12" for CSV, "row 12" otherwise (1-based), for messages. */
export function rowLabel(t: RawTable, r: number): string {
  return `${t.format === 'csv' ? 'line' : 'row'} ${t.rowNumbers[r]}`;
}

/** 'column 3 ("age")': 1-based position and name. */
export function columnLabel(t: RawTable, c: number): string {
  return `column ${c + 1} (${JSON.stringify(t.columns[c])})`;
}

export function columnIndex(t: RawTable, name: string): number {
  const c = t.columns.indexOf(name);
  if (c < 0) throw new Error(`${t.source}: no column ${JSON.stringify(name)}; columns are: ${t.columns.map((n) => JSON.stringify(n)).join(', ')}`);
  return c;
}

/** Parse CSV text (already read) into a RawTable; `source` names the file in errors. */
export function parseCsv(text: string, source: string, o: CsvOptions = {}): RawTable {
  const delimiter = o.delimiter ?? (/\.tsv$/i.test(source) ? '\t' : ',');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter, info: true, relax_column_count: true, skip_empty_lines: true, bom: true, trim: true, from_line: (o.skipLines ?? 0) + 1 }) as unknown as typeof records;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new Error(`${source}: line ${err.lines ?? '?'}: cannot parse CSV: ${err.message}`);
  }
  if (!records.length) throw new Error(`${source}: no rows`);
  const header = o.header ?? true;
  const first = records[0]!.record;
  const columns = header ? first.map((c, i) => c || `col${i + 1}`) : first.map((_, i) => `col${i + 1}`);
  if (header) {
    const seen = new Set<string>();
    columns.forEach((c, i) => {
      if (seen.has(c)) throw new Error(`${source}: line ${records[0]!.info.lines}: column name ${JSON.stringify(c)} appears twice (columns ${columns.indexOf(c) + 1} and ${i + 1})`);
      seen.add(c);
    });
  }
  let body = header ? records.slice(1) : records;
  if (o.limit !== undefined) body = body.slice(0, o.limit);
  const missing = new Set(o.missingValues ?? DEFAULT_MISSING);
  const data: Cell[][] = columns.map(() => new Array<Cell>(body.length));
  const lines = new Int32Array(body.length);
  body.forEach(({ record, info }, r) => {
    if (record.length !== columns.length) {
      const name = (c: number) => `${c + 1} (${JSON.stringify(columns[c])})`;
      const why = record.length < columns.length
        ? record.length + 1 === columns.length ? `column ${name(record.length)} is missing` : `columns ${name(record.length)} to ${name(columns.length - 1)} are missing`
        : `column ${columns.length + 1} is extra (value ${JSON.stringify(record[columns.length])})`;
      throw new Error(`${source}: line ${info.lines}: ${record.length} fields, but the ${header ? 'header has' : 'first row has'} ${columns.length}: ${why}. Every row needs the same number of fields (quote values that contain "${delimiter}")`);
    }
    lines[r] = info.lines;
    for (let c = 0; c < columns.length; c++) {
      const v = record[c]!;
      data[c]![r] = missing.has(v) ? null : v;
    }
  });
  return { source, format: 'csv', columns, data, nRows: body.length, rowNumbers: lines };
}

export function readCsv(path: string, o: CsvOptions = {}): RawTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseCsv(text, path, o);
}

function parquetCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? Number(x) : x));
}

/** Read a Parquet file (flat columns; snappy built in, gzip and deflate through node:zlib). */
export async function readParquet(path: string, o: { limit?: number } = {}): Promise<RawTable> {
  let file;
  try {
    file = await asyncBufferFromFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  try {
    const metadata = await parquetMetadataAsync(file);
    const columns = parquetSchema(metadata).children.map((c) => c.element.name);
    const rows = await parquetReadObjects({
      file,
      metadata,
      rowEnd: o.limit,
      compressors: { GZIP: (input) => gunzipSync(input) },
    });
    const data: Cell[][] = columns.map((name) => rows.map((row) => parquetCell((row as Record<string, unknown>)[name])));
    return { source: path, format: 'parquet', columns, data, nRows: rows.length, rowNumbers: Int32Array.from(rows, (_, i) => i + 1) };
  } catch (e) {
    throw new Error(`${path}: cannot read Parquet: ${(e as Error).message}`);
  }
}

/** CSV or Parquet by the file extension (.parquet/.pq; anything else is read as CSV). */
export async function readTable(path: string, o: CsvOptions = {}): Promise<RawTable> {
  return /\.(parquet|pq)$/i.test(path) ? readParquet(path, { limit: o.limit }) : readCsv(path, o);
}

/** A RawTable from row objects, for tests and programmatic use. */
export function tableFromRows(rows: Record<string, Cell | undefined>[], source = '<memory>', columns?: string[]): RawTable {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return { source, format: 'memory', columns: cols, nRows: rows.length, rowNumbers: Int32Array.from(rows, (_, i) => i + 1), data: cols.map((c) => rows.map((r) => (r[c] === undefined || (typeof r[c] === 'number' && Number.isNaN(r[c])) ? null : r[c]!))) };
}

/** The same table restricted to some rows (keeps line numbers). */
export function selectRows(t: RawTable, rows: ArrayLike<number>): RawTable {
  const idx = Array.from(rows);
  return { ...t, data: t.data.map((col) => idx.map((r) => col[r]!)), nRows: idx.length, rowNumbers: Int32Array.from(idx, (r) => t.rowNumbers[r]!) };
}
