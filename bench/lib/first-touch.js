#!/usr/bin/env node
// What a page of memory costs the first time a process touches it, against touching it again:
// fills a fresh 100 MB buffer twice, in a new process each round (docs/BENCHMARKS.md, "Memory is time").
//
//   node bench/lib/first-touch.js [--rounds 5] [--mb 100]
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const rounds = opt('--rounds', 5);
const mb = opt('--mb', 100);

if (process.env.BUILDFLEET_FIRST_TOUCH_CHILD === '1') {
  const buffer = Buffer.allocUnsafeSlow(mb * 1e6);
  let t = performance.now();
  buffer.fill(1);
  const first = performance.now() - t;
  t = performance.now();
  buffer.fill(2);
  const again = performance.now() - t;
  process.stdout.write(JSON.stringify({ first, again }));
} else {
  const runs = [];
  for (let i = 0; i < rounds; i++) {
    const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname, '--mb', String(mb)], { env: { ...process.env, BUILDFLEET_FIRST_TOUCH_CHILD: '1' } });
    runs.push(JSON.parse(out.toString()));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const first = median(runs.map((r) => r.first));
  const again = median(runs.map((r) => r.again));
  process.stdout.write(`${mb} MB filled: first touch ${first.toFixed(0)} ms (${(first / mb).toFixed(2)} ms per MB), again ${again.toFixed(0)} ms (${(again / mb).toFixed(3)} ms per MB): ${(first / again).toFixed(0)}x; medians of ${rounds} processes\n`);
}
