/**
 * BuildLog's size cap: whatever a build prints and however it arrives in chunks, the
 * file is the output's head, then (when bytes were dropped) one marker line naming
 * the count, then the output's tail; head + dropped + tail is the whole output, and
 * nothing is left beside the log.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BuildLog, overflowFile } from '../../src/execute/buildLog.js';

function tempLog(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-buildlog-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'logs', 'p-1.0-1.log');
}

const MARKER = /(?:\n)?==> buildfleet: log limit \(([^)]*)\) reached: (\d+) bytes of output dropped here; the first and the last bytes are kept\n/;

/** Splits the file into head, dropped count and tail; no marker: the whole file is the head. */
function parse(file: Buffer): { head: Buffer; dropped: number; tail: Buffer; source?: string } {
  const text = file.toString('latin1');
  const m = MARKER.exec(text);
  if (m === null) return { head: file, dropped: 0, tail: Buffer.alloc(0) };
  return { head: file.subarray(0, m.index), dropped: Number(m[2]), tail: file.subarray(m.index + m[0].length), source: m[1]! };
}

async function writeAll(file: string, chunks: readonly Buffer[], limitBytes: number): Promise<BuildLog> {
  const log = await BuildLog.open(file, { limitBytes, limitSource: 'logLimit test' });
  for (const c of chunks) log.write(c);
  await log.close();
  return log;
}

describe('BuildLog size cap', () => {
  it('keeps every byte of a log within its limit, and writes no marker', async () => {
    const file = tempLog();
    const out = Buffer.from('x'.repeat(3000) + '\nend\n');
    const log = await writeAll(file, [out.subarray(0, 1000), out.subarray(1000)], 4096);
    expect(readFileSync(file).toString('latin1')).toBe(out.toString('latin1'));
    expect(log.droppedBytes).toBe(0);
    expect(existsSync(overflowFile(file))).toBe(false);
  });

  it('keeps the head, a marker with the dropped count and the tail of a log over its limit', async () => {
    const file = tempLog();
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`);
    const out = Buffer.from(lines.join(''));
    const log = await writeAll(file, [out.subarray(0, 777), out.subarray(777, 100_000), out.subarray(100_000)], 64 * 1024);
    const text = readFileSync(file);
    expect(text.length).toBeLessThanOrEqual(64 * 1024);
    const parts = parse(text);
    expect(parts.source).toBe('logLimit test');
    expect(parts.head.toString('latin1')).toBe(out.subarray(0, 16 * 1024).toString('latin1'));
    expect(parts.tail.toString('latin1')).toBe(out.subarray(out.length - parts.tail.length).toString('latin1'));
    expect(parts.head.length + parts.dropped + parts.tail.length).toBe(out.length);
    expect(log.droppedBytes).toBe(parts.dropped);
    // The tail begins on a line of its own and ends with the last line printed.
    expect(parts.tail.toString().split('\n')[0]).toMatch(/^line \d+$/);
    expect(parts.tail.toString().endsWith('line 19999\n')).toBe(true);
    expect(existsSync(overflowFile(file))).toBe(false);
  });

  it('for any output cut in any chunks: head + dropped + tail is the output, and the file stays within the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 4096, max: 20_000 }),
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 9000 }), { maxLength: 12 }),
        async (limit, arrays) => {
          const file = tempLog();
          const chunks = arrays.map((a) => Buffer.from(a));
          const out = Buffer.concat(chunks);
          await writeAll(file, chunks, limit);
          const text = readFileSync(file);
          const parts = parse(text);
          if (parts.dropped === 0) {
            expect(text.toString('latin1')).toBe(out.toString('latin1'));
            expect(out.length).toBeLessThanOrEqual(limit);
          } else {
            expect(parts.head.toString('latin1')).toBe(out.subarray(0, Math.floor(limit / 4)).toString('latin1'));
            expect(parts.tail.toString('latin1')).toBe(out.subarray(out.length - parts.tail.length).toString('latin1'));
            expect(parts.head.length + parts.dropped + parts.tail.length).toBe(out.length);
            expect(text.length).toBeLessThanOrEqual(limit);
          }
          expect(existsSync(overflowFile(file))).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps the in-memory tail bounded: a line that never ends is cut for reports', async () => {
    const file = tempLog();
    const log = await BuildLog.open(file, { limitBytes: 8192 });
    for (let i = 0; i < 200; i++) log.write(Buffer.from('y'.repeat(10_000)));
    log.line('buildfleet: build step exited with status 1');
    await log.close();
    const tail = log.tail();
    expect(tail.at(-1)).toBe('buildfleet: build step exited with status 1');
    expect(tail.at(-2)).toBe(`${'y'.repeat(2000)}… [${2_000_000 - 2000} more characters]`);
    expect(readFileSync(file, 'utf8').endsWith('\nbuildfleet: build step exited with status 1\n')).toBe(true);
  });
});
