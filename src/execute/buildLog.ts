/**
 * A build's log file: the output as it arrives, with `==>` header lines from
 * buildfleet, bounded by the pipeline's `logLimit`, and the last lines kept in
 * memory for reports.
 *
 * Within the limit every byte is written. Past it, the log keeps its head (the
 * first quarter of the limit) and its tail (the rest): output beyond the head goes
 * to a ring file beside the log (`<log>.overflow`, bounded by the tail's size, on
 * disk so that memory stays bounded however much a build prints) and is copied
 * back when the log closes, after a marker line that says how many bytes were
 * dropped. The tail starts at a line boundary when one is near. Not responsible
 * for failing a build: a long log is not the package's fault.
 */
import { closeSync, createWriteStream, mkdirSync, openSync, readSync, rmSync, writeSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { DEFAULT_LOG_LIMIT_BYTES, formatSize, MIN_LOG_LIMIT_BYTES, type PipelineConfig } from '../config/types.js';

/** Lines kept in memory for {@link BuildLog.tail}. */
const TAIL_LINES = 30;
/** Longest line kept in memory for reports, characters; longer lines are cut. */
const MAX_TAIL_LINE = 2000;
/** Bytes reserved under the limit for the marker line. */
const MARKER_RESERVE = 256;
/** How far into the kept tail a line boundary is looked for (bytes). */
const LINE_SEARCH = 16 * 1024;

export interface BuildLogOptions {
  /** Most bytes the log file holds (plus the marker line when output was dropped); absent: no limit. */
  readonly limitBytes?: number;
  /** Where the limit comes from, named in the marker line (e.g. `logLimit 20M of pipelines/shell.yaml`). */
  readonly limitSource?: string;
}

/** The part of the output past the head: a ring of `size` bytes in a file of its own. */
class OverflowRing {
  private readonly fd: number;
  /** Bytes written into the ring so far (all of the overflow). */
  total = 0;

  constructor(
    readonly file: string,
    readonly size: number,
  ) {
    this.fd = openSync(file, 'w+', 0o600);
  }

  write(chunk: Buffer): void {
    let data = chunk.length > this.size ? chunk.subarray(chunk.length - this.size) : chunk;
    let position = (this.total + (chunk.length - data.length)) % this.size;
    this.total += chunk.length;
    while (data.length > 0) {
      const n = Math.min(data.length, this.size - position);
      writeSync(this.fd, data, 0, n, position);
      data = data.subarray(n);
      position = (position + n) % this.size;
    }
  }

  /** Bytes kept (the last `size` of the overflow at most). */
  get kept(): number {
    return Math.min(this.total, this.size);
  }

  /** `length` kept bytes starting `offset` bytes into what is kept, in output order. */
  read(offset: number, length: number): Buffer {
    const start = (this.total > this.size ? this.total % this.size : 0) + offset;
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const position = (start + done) % this.size;
      const n = readSync(this.fd, out, done, Math.min(length - done, this.size - position), position);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done);
  }

  dispose(): void {
    closeSync(this.fd);
    rmSync(this.file, { force: true });
  }
}

export class BuildLog {
  private readonly lines: string[] = [];
  private partial = '';
  /** Characters of the unfinished line left out of {@link partial}. */
  private partialCut = 0;
  /** Bytes that still go straight to the file (Infinity: no limit). */
  private headLeft: number;
  private ring: OverflowRing | undefined;
  private lastByte = 0x0a;
  private dropped = 0;

  private constructor(
    private readonly file: string,
    private readonly stream: WriteStream,
    private readonly options: BuildLogOptions,
  ) {
    const limit = options.limitBytes;
    this.headLeft = limit === undefined ? Number.POSITIVE_INFINITY : Math.floor(limit / 4);
  }

  static open(file: string, options: BuildLogOptions = {}): Promise<BuildLog> {
    if (options.limitBytes !== undefined && options.limitBytes < MIN_LOG_LIMIT_BYTES) throw new Error(`BuildLog: a limit under ${MIN_LOG_LIMIT_BYTES} bytes`);
    mkdirSync(path.dirname(file), { recursive: true });
    // Opened here, synchronously: an error (disk full, permissions) surfaces now, not on a later write.
    const fd = openSync(file, 'w', 0o644);
    // The ring of an earlier build of this log that died before closing.
    rmSync(overflowFile(file), { force: true });
    return Promise.resolve(new BuildLog(file, createWriteStream(file, { fd }), options));
  }

  header(text: string): void {
    this.line(`==> ${text}`);
  }

  line(text: string): void {
    this.write(Buffer.from(`${this.partial === '' ? '' : '\n'}${text}\n`));
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.remember(chunk);
    let rest = chunk;
    if (this.headLeft > 0) {
      const head = rest.length <= this.headLeft ? rest : rest.subarray(0, this.headLeft);
      this.stream.write(head);
      this.headLeft -= head.length;
      this.lastByte = head[head.length - 1]!;
      rest = rest.subarray(head.length);
    }
    if (rest.length === 0) return;
    this.ring ??= new OverflowRing(overflowFile(this.file), this.options.limitBytes! - Math.floor(this.options.limitBytes! / 4) - MARKER_RESERVE);
    this.ring.write(rest);
  }

  /** Bytes of output left out of the file (known once the log is closed). */
  get droppedBytes(): number {
    return this.dropped;
  }

  tail(): string[] {
    return this.partial === '' ? [...this.lines] : [...this.lines, this.current()].slice(-TAIL_LINES);
  }

  async close(): Promise<void> {
    const ring = this.ring;
    this.ring = undefined;
    if (ring !== undefined) {
      try {
        await this.copyBack(ring);
      } finally {
        ring.dispose();
      }
    }
    await new Promise<void>((resolve, reject) => this.stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }

  /** The marker (when bytes were dropped) and the kept tail, after the head. */
  private async copyBack(ring: OverflowRing): Promise<void> {
    let skip = 0;
    if (ring.total > ring.kept) {
      // Start the tail on a line of its own when a line boundary is near.
      const probe = ring.read(0, Math.min(LINE_SEARCH, ring.kept));
      const newline = probe.indexOf(0x0a);
      if (newline >= 0 && newline + 1 < ring.kept) skip = newline + 1;
      this.dropped = ring.total - ring.kept + skip;
      const where = this.options.limitSource !== undefined ? ` (${this.options.limitSource})` : '';
      await this.put(Buffer.from(`${this.lastByte === 0x0a ? '' : '\n'}==> buildfleet: log limit${where} reached: ${this.dropped} bytes of output dropped here; the first and the last bytes are kept\n`));
    }
    for (let offset = skip; offset < ring.kept; ) {
      const piece = ring.read(offset, Math.min(1024 * 1024, ring.kept - offset));
      if (piece.length === 0) break;
      await this.put(piece);
      offset += piece.length;
    }
  }

  /** Writes to the file, waiting when the stream's buffer is full (memory stays bounded). */
  private async put(data: Buffer): Promise<void> {
    if (!this.stream.write(data)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }

  private remember(chunk: Buffer): void {
    let parts = chunk.toString('utf8').split('\n');
    // Only the line continued and the last lines can reach the tail.
    if (parts.length > TAIL_LINES + 2) parts = [parts[0]!, ...parts.slice(-(TAIL_LINES + 1))];
    parts.forEach((piece, i) => {
      // A line that never ends (no newline in megabytes of output) is cut: memory stays bounded.
      const room = Math.max(0, MAX_TAIL_LINE - this.partial.length);
      this.partial += piece.length <= room ? piece : piece.slice(0, room);
      this.partialCut += Math.max(0, piece.length - room);
      if (i === parts.length - 1) return;
      this.lines.push(this.current());
      if (this.lines.length > TAIL_LINES) this.lines.shift();
      this.partial = '';
      this.partialCut = 0;
    });
  }

  /** The unfinished line as reports show it. */
  private current(): string {
    return this.partialCut > 0 ? `${this.partial}… [${this.partialCut} more characters]` : this.partial;
  }
}

/** The log options of a pipeline's builds: its `logLimit` (or the default), named after the file it is set in. */
export function logLimitOf(pipeline: Pick<PipelineConfig, 'file' | 'logLimitBytes'>): BuildLogOptions {
  const limitBytes = pipeline.logLimitBytes ?? DEFAULT_LOG_LIMIT_BYTES;
  return { limitBytes, limitSource: `logLimit ${formatSize(limitBytes)} of ${pipeline.file}` };
}

/** The ring file of a log that went over its limit, while the build runs. */
export function overflowFile(logFile: string): string {
  return `${logFile}.overflow`;
}
