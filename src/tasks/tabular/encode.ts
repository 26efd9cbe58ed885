// encode-tabular: a run's codes, stacked features or reconstructions of every row of a table,
// written as CSV or Parquet. The table is encoded as one chunk, or chunk by chunk (--stream);
// either way the output goes to a temp file renamed over the target at the end, so a failure
// never leaves half a file under the target's name.
import { closeSync, openSync, writeSync } from 'node:fs';
import { isParquetPath, readTable, rowLabel, streamTable, type CsvOptions, type RawTable } from '../../data/tabular/index.js';
import { atomicTemp, ioError } from '../../util/atomic.js';
import { makeProgress } from '../../train/progress.js';
import { tabularEncoder, type TabularOutput, type TabularRun } from './tabular.js';

export interface EncodeTableOptions {
  run: TabularRun;
  path: string;
  csv?: CsvOptions;
  what: TabularOutput;
  /** recon: the model's raw outputs (standardised numbers, logits) instead of the table's own units. */
  standardised?: boolean;
  output: string;
  /** Read and write in chunks of this many rows (tables larger than memory); default: the whole table at once. */
  chunkRows?: number;
  /** A progress bar over the file's bytes while streaming (--stream). */
  progress?: boolean;
}

/** One chunk's output: column names, and rows of numbers or of decoded values. */
interface Encoded {
  head: string[];
  n: number;
  /** Row-major numbers (code, features, standardised recon). */
  numbers?: Float32Array;
  /** Decoded recon rows (numbers in original units, categories as text). */
  decoded?: (number | string)[][];
}

interface Sink {
  write(e: Encoded): void;
  close(): void;
}

const short = (v: number) => Number(v.toPrecision(6));

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvSink(file: string, output: string): Sink {
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (e) {
    throw ioError(output, e);
  }
  let started = false;
  return {
    write(e) {
      const lines: string[] = started ? [] : [e.head.map(csvCell).join(',')];
      started = true;
      if (e.decoded) for (const row of e.decoded) lines.push(row.map((v) => (typeof v === 'number' ? String(short(v)) : csvCell(v))).join(','));
      else for (let i = 0; i < e.n; i++) lines.push(Array.from(e.numbers!.subarray((i * e.numbers!.length) / e.n, ((i + 1) * e.numbers!.length) / e.n), (v) => String(short(v))).join(','));
      try {
        writeSync(fd, lines.join('\n') + '\n');
      } catch (err) {
        throw ioError(output, err);
      }
    },
    close: () => closeSync(fd),
  };
}

/** Parquet, one row group per chunk: FLOAT columns for numbers, DOUBLE and UTF8 for decoded recon. */
async function parquetSink(file: string): Promise<Sink> {
  const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
  let writer: InstanceType<typeof ParquetWriter> | undefined;
  let textColumns: boolean[] = [];
  return {
    write(e) {
      if (!writer) {
        textColumns = e.head.map((_, j) => e.decoded !== undefined && e.decoded.some((r) => typeof r[j] === 'string'));
        writer = new ParquetWriter({
          writer: fileWriter(file),
          schema: [
            { name: 'root', num_children: e.head.length },
            ...e.head.map((name, j) => (textColumns[j] ? { name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const } : { name, type: (e.decoded ? 'DOUBLE' : 'FLOAT') as 'DOUBLE' | 'FLOAT', repetition_type: 'REQUIRED' as const })),
          ],
          createdBy: 'latentkit',
        });
      }
      const w = e.head.length;
      const columnData = e.head.map((name, j) => ({
        name,
        data: e.decoded ? e.decoded.map((r) => (textColumns[j] ? String(r[j]) : Number(r[j]))) : Float32Array.from({ length: e.n }, (_, i) => e.numbers![i * w + j]!),
      }));
      writer.write({ columnData, rowGroupSize: Math.max(e.n, 1) });
    },
    close: () => writer?.finish(),
  };
}

/** Encode every row of the table; returns the number of rows and values per row written. */
export async function encodeTable(o: EncodeTableOptions): Promise<{ rows: number; size: number }> {
  const { run, what } = o;
  const prep = run.prep;
  const decoded = what === 'recon' && !o.standardised;
  const bar = makeProgress(Boolean(o.progress && o.chunkRows));
  const t0 = performance.now();
  let rows = 0;
  const onProgress = (done: number, total: number) => bar.update(Math.round((1000 * done) / Math.max(total, 1)), { rate: (rows / (performance.now() - t0)) * 1000 });
  const chunks: AsyncIterable<RawTable> | RawTable[] = o.chunkRows ? streamTable(o.path, { ...o.csv, chunkRows: o.chunkRows, onProgress }) : [await readTable(o.path, o.csv)];
  const enc = await tabularEncoder(run.model, prep.width, what);
  const target = atomicTemp(o.output);
  let size = 0, sink: Sink | undefined;
  bar.start(`encoding ${o.path} (per mille)`, 1000, 'rows/s');
  try {
    sink = isParquetPath(o.output) ? await parquetSink(target.tmp) : csvSink(target.tmp, o.output);
    for await (const table of chunks) {
      const r = await enc.run(prep.transform(table));
      size = r.size;
      // No NaN or Infinity written with exit code 0: name the first row that has one.
      const bad = r.data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`${o.path}: ${rowLabel(table, Math.floor(bad / size))}: the model's ${what} is not a finite number (${r.data[bad]}); nothing written to ${o.output}`);
      const head = decoded ? prep.inputColumns : what === 'recon' ? prep.featureNames() : Array.from({ length: size }, (_, j) => `${what}_${j}`);
      sink.write(decoded ? { head, n: table.nRows, decoded: prep.decodeRows(r.data, table.nRows) } : { head, n: table.nRows, numbers: r.data });
      rows += table.nRows;
    }
    sink.close();
    target.commit();
    bar.stop();
  } catch (e) {
    try {
      sink?.close();
    } catch {
      // The first error is the one to report.
    }
    target.abort();
    bar.stop();
    throw e;
  } finally {
    await enc.release();
  }
  return { rows, size };
}
