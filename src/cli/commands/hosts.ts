/** `buildfleet hosts`: connect to every host and report it. Exit 3 when some host cannot be reached. */
import { loadConfig } from '../../config/load.js';
import { renderHostsText } from '../../report/renderHosts.js';
import { probeHosts } from '../../run/probeHosts.js';
import { ExitCode } from '../exitCodes.js';
import type { GlobalOptions } from '../globalOptions.js';
import { printDiagnostics, type Output } from '../io.js';

export async function runHosts(global: GlobalOptions, options: { format: 'text' | 'json' }, out: Output): Promise<ExitCode> {
  const loaded = loadConfig(global.configDir);
  printDiagnostics(out, loaded.diagnostics);
  if (loaded.config === null) return ExitCode.error;
  const doc = await probeHosts(loaded.config, global.stateDir(loaded.config.dir), { env: process.env });
  out.stdout(options.format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderHostsText(doc));
  return doc.hosts.every((h) => h.reachable) ? ExitCode.ok : ExitCode.buildsFailed;
}
