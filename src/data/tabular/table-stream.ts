// Tables larger than memory: a CSV or Parquet file read as a sequence of RawTable chunks of at
// most `chunkRows` rows. Chunks carry the file's own line (CSV) or row (Parquet) numbers, so
// every error raised on a chunk names file, line and column as it does for a whole table.
import { createReadStream, statSync } from 'node:fs';
import { parse } from 'csv-parse';
import { parquetReadObjects } from 'hyparquet';
import { csvParseError, csvParseOptions, CsvRows, isParquetPath, openParquet, parquetError, parquetTable, PARQUET_COMPRESSORS, type CsvOptions, type CsvRecord, type RawTable } from './table.js';

export interface StreamOptions extends CsvOptions {
  /** Rows per chunk (default DEFAULT_CHUNK_ROWS). */
  chunkRows?: number;
  /** Called after each chunk: bytes (CSV) or rows (Parquet) read so far, of the total. */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_CHUNK_ROWS = 16384;

/** CSV or Parquet (by extension) as chunks; the file is read again on every call. */
export function streamTable(path: string, o: StreamOptions = {}): AsyncGenerator<RawTable> {
  const chunkRows = o.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new Error(`chunk rows must be a positive integer, got ${chunkRows}`);
  return isParquetPath(path) ? streamParquet(path, chunkRows, o.limit, o.onProgress) : streamCsv(path, chunkRows, o);
}

async function* streamCsv(path: string, chunkRows: number, o: StreamOptions): AsyncGenerator<RawTable> {
  const input = createReadStream(path);
  const parser = input.pipe(parse(csvParseOptions(path, o)));
  // A read error (missing file) ends the parser too, and is the one to report.
  let readError: Error | undefined;
  input.on('error', (e) => {
    readError = new Error(`${path}: cannot read: ${e.message}`);
    parser.destroy(readError);
  });
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    // Reported by the read stream below.
  }
  const rows = new CsvRows(path, o);
  let started = false, taken = 0, body: CsvRecord[] = [];
  const limit = o.limit ?? Infinity;
  try {
    for await (const rec of parser as AsyncIterable<CsvRecord>) {
      if (!started) {
        started = true;
        if (rows.start(rec)) continue;
      }
      if (taken >= limit) break;
      body.push(rec);
      taken++;
      if (body.length === chunkRows) {
        o.onProgress?.(input.bytesRead, size);
        yield rows.table(body);
        body = [];
      }
    }
  } catch (e) {
    if (readError) throw readError;
    if ((e as { code?: string }).code?.startsWith('CSV_')) throw csvParseError(path, e);
    throw e;
  } finally {
    input.destroy();
  }
  if (readError) throw readError;
  if (!started) throw new Error(`${path}: no rows`);
  if (body.length) yield rows.table(body);
}

async function* streamParquet(path: string, chunkRows: number, limit = Infinity, onProgress?: StreamOptions['onProgress']): AsyncGenerator<RawTable> {
  const { file, metadata, columns } = await openParquet(path);
  const total = Math.min(Number(metadata.num_rows), limit);
  // One row group decoded at a time (writers keep them to ~100k rows), cut into chunks.
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupEnd = Math.min(groupStart + Number(group.num_rows), limit);
    if (groupEnd <= groupStart) break;
    let rows: Record<string, unknown>[];
    try {
      rows = (await parquetReadObjects({ file, metadata, rowStart: groupStart, rowEnd: groupEnd, compressors: PARQUET_COMPRESSORS })) as Record<string, unknown>[];
    } catch (e) {
      throw parquetError(path, e);
    }
    onProgress?.(groupEnd, total);
    for (let i = 0; i < rows.length; i += chunkRows) yield parquetTable(path, columns, rows.slice(i, i + chunkRows), groupStart + i);
    groupStart = groupEnd;
  }
}
