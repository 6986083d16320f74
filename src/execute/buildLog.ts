/**
 * A build's log file: every byte of output as it arrives, with `==>` header lines
 * from buildfleet, and the last lines kept in memory for reports.
 */
import { createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import path from 'node:path';

const TAIL_LINES = 30;

export class BuildLog {
  private readonly lines: string[] = [];
  private partial = '';

  private constructor(private readonly stream: WriteStream) {}

  static open(file: string): Promise<BuildLog> {
    mkdirSync(path.dirname(file), { recursive: true });
    // Opened here, synchronously: an error (disk full, permissions) surfaces now, not on a later write.
    const fd = openSync(file, 'w', 0o644);
    return Promise.resolve(new BuildLog(createWriteStream(file, { fd })));
  }

  header(text: string): void {
    this.line(`==> ${text}`);
  }

  line(text: string): void {
    this.write(Buffer.from(`${this.partial === '' ? '' : '\n'}${text}\n`));
  }

  write(chunk: Buffer): void {
    this.stream.write(chunk);
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > TAIL_LINES) this.lines.shift();
    }
  }

  tail(): string[] {
    return this.partial === '' ? [...this.lines] : [...this.lines, this.partial].slice(-TAIL_LINES);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}
