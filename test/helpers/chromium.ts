/**
 * Headless Chromium (Debian's `chromium`, installed by .ci/run) for tests of the
 * HTML report: the DOM after the page is loaded and parsed, and screenshots.
 * Each call starts its own browser with a throw-away profile and waits for it
 * to exit; nothing is left running.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';

function chromium(args: readonly string[]): Promise<string> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'buildfleet-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`];
  return new Promise<string>((resolve, reject) => {
    execFile(CHROMIUM, [...flags, ...args], { encoding: 'utf8', timeout: 90_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (error !== null) reject(new Error(`chromium ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/** The serialized DOM of a local HTML file, as Chromium parsed it. */
export function dumpDom(file: string): Promise<string> {
  return chromium(['--dump-dom', pathToFileURL(file).href]);
}

/** Takes a screenshot of a local HTML file; returns the PNG's width and height read from its header. */
export async function screenshot(file: string, png: string, width: number, height: number): Promise<{ width: number; height: number; bytes: number }> {
  await chromium([`--screenshot=${png}`, `--window-size=${width},${height}`, '--hide-scrollbars', pathToFileURL(file).href]);
  const data = readFileSync(png);
  const signature = data.subarray(0, 8).toString('hex');
  if (signature !== '89504e470d0a1a0a' || data.subarray(12, 16).toString('latin1') !== 'IHDR') throw new Error(`${png} is not a PNG`);
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20), bytes: data.length };
}
