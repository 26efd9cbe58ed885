// Raw tables read from CSV (csv-parse) or Parquet (hyparquet): column-major cells, missing
// values as null, and where each row came from (CSV line or Parquet row) for error messages.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse, type Options as CsvParseOptions } from 'csv-parse/sync';
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
export function columnLabel(t: Pick<RawTable, 'columns'>, c: number): string {
  return `column ${c + 1} (${JSON.stringify(t.columns[c])})`;
}

export function columnIndex(t: RawTable, name: string): number {
  const c = t.columns.indexOf(name);
  if (c < 0) throw new Error(`${t.source}: no column ${JSON.stringify(name)}; columns are: ${t.columns.map((n) => JSON.stringify(n)).join(', ')}`);
  return c;
}

/** csv-parse options for a file (shared by the whole-file and the chunked reader). */
export function csvParseOptions(source: string, o: CsvOptions): CsvParseOptions & { delimiter: string } {
  const delimiter = o.delimiter ?? (/\.tsv$/i.test(source) ? '\t' : ',');
  return {
    delimiter, relax_column_count: true, skip_empty_lines: true, bom: true, trim: true, from_line: (o.skipLines ?? 0) + 1,
    // Only the line number is kept with each record (csv-parse's full info object is ~10 fields a row).
    on_record: ((record: string[], info: { lines: number }): CsvRecord => ({ record, info: { lines: info.lines } })) as unknown as CsvParseOptions['on_record'],
  };
}

export type CsvRecord = { record: string[]; info: { lines: number } };

export function csvParseError(source: string, e: unknown): Error {
  const err = e as Error & { lines?: number };
  return new Error(`${source}: line ${err.lines ?? '?'}: cannot parse CSV: ${err.message}`);
}

/**
 * Turns CSV records into cells: the first record fixes the columns (from the header, or
 * col1..colN), every later one is checked against them and its missing tokens read as null.
 */
export class CsvRows {
  columns: string[] = [];
  private readonly missing: Set<string>;
  private readonly header: boolean;
  private readonly delimiter: string;
  constructor(readonly source: string, o: CsvOptions) {
    this.missing = new Set(o.missingValues ?? DEFAULT_MISSING);
    this.header = o.header ?? true;
    this.delimiter = csvParseOptions(source, o).delimiter;
  }

  /** Takes the first record; true when it was a header (no data in it). */
  start({ record, info }: CsvRecord): boolean {
    const columns = this.header ? record.map((c, i) => c || `col${i + 1}`) : record.map((_, i) => `col${i + 1}`);
    if (this.header) {
      const seen = new Set<string>();
      columns.forEach((c, i) => {
        if (seen.has(c)) throw new Error(`${this.source}: line ${info.lines}: column name ${JSON.stringify(c)} appears twice (columns ${columns.indexOf(c) + 1} and ${i + 1})`);
        seen.add(c);
      });
    }
    this.columns = columns;
    return this.header;
  }

  /** Writes a data record's cells into data[c][r]. */
  put({ record, info }: CsvRecord, data: Cell[][], r: number): void {
    const columns = this.columns;
    if (record.length !== columns.length) {
      const name = (c: number) => `${c + 1} (${JSON.stringify(columns[c])})`;
      const why = record.length < columns.length
        ? record.length + 1 === columns.length ? `column ${name(record.length)} is missing` : `columns ${name(record.length)} to ${name(columns.length - 1)} are missing`
        : `column ${columns.length + 1} is extra (value ${JSON.stringify(record[columns.length])})`;
      throw new Error(`${this.source}: line ${info.lines}: ${record.length} fields, but the ${this.header ? 'header has' : 'first row has'} ${columns.length}: ${why}. Every row needs the same number of fields (quote values that contain "${this.delimiter}")`);
    }
    for (let c = 0; c < columns.length; c++) {
      const v = record[c]!;
      data[c]![r] = this.missing.has(v) ? null : v;
    }
  }

  /** A RawTable of data records. */
  table(body: CsvRecord[]): RawTable {
    const data: Cell[][] = this.columns.map(() => new Array<Cell>(body.length));
    const lines = new Int32Array(body.length);
    body.forEach((rec, r) => {
      this.put(rec, data, r);
      lines[r] = rec.info.lines;
    });
    return { source: this.source, format: 'csv', columns: this.columns, data, nRows: body.length, rowNumbers: lines };
  }
}

/** Parse CSV text (already read) into a RawTable; `source` names the file in errors. */
export function parseCsv(text: string, source: string, o: CsvOptions = {}): RawTable {
  let records: CsvRecord[];
  try {
    records = parse(text, csvParseOptions(source, o)) as unknown as CsvRecord[];
  } catch (e) {
    throw csvParseError(source, e);
  }
  if (!records.length) throw new Error(`${source}: no rows`);
  const rows = new CsvRows(source, o);
  let body = rows.start(records[0]!) ? records.slice(1) : records;
  if (o.limit !== undefined) body = body.slice(0, o.limit);
  return rows.table(body);
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

/** A Parquet value as a cell (bigints as numbers, dates as ISO text, NaN as missing). */
export function parquetCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? Number(x) : x));
}

/** Gzip and deflate through node:zlib (snappy is built into hyparquet). */
export const PARQUET_COMPRESSORS = { GZIP: (input: Uint8Array) => gunzipSync(input) };

/** A Parquet file's buffer, metadata and column names; errors name the file. */
export async function openParquet(path: string) {
  let file;
  try {
    file = await asyncBufferFromFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  try {
    const metadata = await parquetMetadataAsync(file);
    return { file, metadata, columns: parquetSchema(metadata).children.map((c) => c.element.name) };
  } catch (e) {
    throw parquetError(path, e);
  }
}

export const parquetError = (path: string, e: unknown) => new Error(`${path}: cannot read Parquet: ${(e as Error).message}`);

/** Row objects read by hyparquet as a RawTable; `first` is the 0-based file row of rows[0]. */
export function parquetTable(path: string, columns: string[], rows: Record<string, unknown>[], first = 0): RawTable {
  const data: Cell[][] = columns.map((name) => rows.map((row) => parquetCell(row[name])));
  return { source: path, format: 'parquet', columns, data, nRows: rows.length, rowNumbers: Int32Array.from(rows, (_, i) => first + i + 1) };
}

/** Read a Parquet file (flat columns; snappy built in, gzip and deflate through node:zlib). */
export async function readParquet(path: string, o: { limit?: number } = {}): Promise<RawTable> {
  const { file, metadata, columns } = await openParquet(path);
  try {
    const rows = await parquetReadObjects({ file, metadata, rowEnd: o.limit, compressors: PARQUET_COMPRESSORS });
    return parquetTable(path, columns, rows as Record<string, unknown>[]);
  } catch (e) {
    throw parquetError(path, e);
  }
}

/** True for paths read as Parquet (.parquet/.pq). */
export const isParquetPath = (path: string) => /\.(parquet|pq)$/i.test(path);

/** CSV or Parquet by the file extension (.parquet/.pq; anything else is read as CSV). */
export async function readTable(path: string, o: CsvOptions = {}): Promise<RawTable> {
  return isParquetPath(path) ? readParquet(path, { limit: o.limit }) : readCsv(path, o);
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

/** Tables with the same columns, one after the other (for rows gathered from chunks). */
export function concatRows(parts: RawTable[]): RawTable {
  const head = parts[0]!;
  const nRows = parts.reduce((a, p) => a + p.nRows, 0);
  const rowNumbers = new Int32Array(nRows);
  let at = 0;
  for (const p of parts) {
    rowNumbers.set(p.rowNumbers, at);
    at += p.nRows;
  }
  return { ...head, nRows, rowNumbers, data: head.columns.map((_, c) => parts.flatMap((p) => p.data[c]!)) };
}
