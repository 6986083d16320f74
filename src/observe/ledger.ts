/**
 * The state ledger: `<state>/ledger.jsonl`, one JSON record per line, appended
 * (and fsynced) as builds end. Append-only JSON lines survive a crash: at worst
 * the last line is torn, and a torn last line is ignored with a warning.
 * The on-disk format is documented in docs/STATE.md.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '../model/canonical.js';
import type { Diagnostic } from '../config/diagnostic.js';
import type { FingerprintInputs } from '../model/fingerprint.js';
import type { LedgerBuildStatus, RecipeHistory } from './types.js';
import { isRecord, isStringRecord } from '../model/json.js';

export const LEDGER_FILE = 'ledger.jsonl';
export const LEDGER_FORMAT_VERSION = 1;
/** How many distinct successful fingerprints per recipe keep their inputs in memory. */
const KEPT_INPUTS = 4;

/** A build attempt that ended (one line of the ledger). */
export interface BuildRecord {
  readonly formatVersion: typeof LEDGER_FORMAT_VERSION;
  readonly kind: 'build';
  /** ISO 8601 time the build ended. */
  readonly at: string;
  readonly runId: string;
  readonly branch: string;
  readonly recipe: string;
  readonly packages: readonly string[];
  readonly version: string;
  readonly fingerprint: string;
  /** built; failed (the package's fault); aborted (interrupted run); lost (host or transport fault). */
  readonly status: LedgerBuildStatus;
  readonly host?: string;
  /** Wall time of the build, seconds. */
  readonly seconds?: number;
  /** Path of the build log. */
  readonly log?: string;
  /** The step that failed. */
  readonly phase?: string;
  /** The fingerprint's data (successful builds), so a later plan can say which input changed. */
  readonly inputs?: FingerprintInputs;
  /** Git sources: the commit the recipe was read at. */
  readonly sourceCommit?: string;
  /** The config repository's commit when the run started (when it is a git work tree). */
  readonly configCommit?: string;
  /** Present (true) when the config repository's work tree differed from `configCommit`. */
  readonly configDirty?: true;
}

/** A review decision on a staged build. */
export interface ReviewRecord {
  readonly formatVersion: typeof LEDGER_FORMAT_VERSION;
  readonly kind: 'review';
  readonly at: string;
  readonly branch: string;
  readonly recipe: string;
  readonly version: string;
  readonly fingerprint: string;
  readonly decision: 'approved' | 'rejected';
  readonly reason?: string;
}

/** A finished build put in the staging area (its repo is reviewed by hand) instead of being published. */
export interface StagedRecord {
  readonly formatVersion: typeof LEDGER_FORMAT_VERSION;
  readonly kind: 'staged';
  readonly at: string;
  readonly runId: string;
  readonly branch: string;
  readonly recipe: string;
  readonly version: string;
  readonly fingerprint: string;
  readonly repo: string;
}

export type LedgerRecord = BuildRecord | ReviewRecord | StagedRecord;

interface MutableHistory {
  last?: RecipeHistory['last'];
  builtInputs: Map<string, FingerprintInputs>;
  lastSuccessSeconds?: number;
  lastBuiltCommit?: string;
  rejected: Map<string, string>;
}

export interface LedgerSnapshot {
  /** By branch, then recipe id. */
  readonly branches: ReadonlyMap<string, ReadonlyMap<string, RecipeHistory>>;
  /** Lines read (for the observed-state digest). */
  readonly records: number;
  /** sha256 of the ledger file ('' when there is none), for the observed-state digest. */
  readonly digest: string;
  readonly diagnostics: readonly Diagnostic[];
}

/** Reads the whole ledger; a missing ledger is an empty one. */
export function readLedger(stateDir: string, displayStateDir: string): LedgerSnapshot {
  const file = path.join(stateDir, LEDGER_FILE);
  const display = `${displayStateDir}/${LEDGER_FILE}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { branches: new Map(), records: 0, digest: '', diagnostics: [] };
    return {
      branches: new Map(),
      records: 0,
      digest: '',
      diagnostics: [{ severity: 'error', file: display, message: `cannot read the ledger (${(error as NodeJS.ErrnoException).code ?? String(error)})`, hint: 'check the permissions of the state directory' }],
    };
  }
  return parseLedger(text, display);
}

export function parseLedger(text: string, display: string): LedgerSnapshot {
  const branches = new Map<string, Map<string, MutableHistory>>();
  const diagnostics: Diagnostic[] = [];
  const lines = text.split('\n');
  let records = 0;
  const unreadable: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    let record: LedgerRecord;
    try {
      record = JSON.parse(line) as LedgerRecord;
    } catch {
      if (i === lines.length - 1) {
        diagnostics.push({
          severity: 'warning',
          file: display,
          line: i + 1,
          col: 1,
          message: 'the last ledger line is incomplete (a run was cut off while writing it); it is ignored',
          hint: 'nothing to do: the next run rewrites what it needs',
        });
      } else {
        unreadable.push(i + 1);
      }
      continue;
    }
    if (record === null || typeof record !== 'object' || record.formatVersion !== LEDGER_FORMAT_VERSION) {
      diagnostics.push({ severity: 'warning', file: display, line: i + 1, col: 1, message: 'ledger line of an unknown format; it is ignored', hint: 'a newer buildfleet may have written it: upgrade buildfleet' });
      continue;
    }
    if (!isLedgerRecord(record)) {
      // The planner trusts what it reads here (a build's inputs are compared field by field).
      diagnostics.push({ severity: 'warning', file: display, line: i + 1, col: 1, message: 'ledger line with a field missing or of the wrong type; it is ignored', hint: 'the line was edited by hand or written by another tool: correct it or delete it' });
      continue;
    }
    records++;
    let recipes = branches.get(record.branch);
    if (recipes === undefined) branches.set(record.branch, (recipes = new Map<string, MutableHistory>()));
    let history = recipes.get(record.recipe);
    if (history === undefined) recipes.set(record.recipe, (history = { builtInputs: new Map(), rejected: new Map() }));
    applyRecord(history, record);
  }
  if (unreadable.length > 0) {
    diagnostics.push({
      severity: 'warning',
      file: display,
      line: unreadable[0]!,
      col: 1,
      message: `${unreadable.length} unreadable ledger line(s) (cut off by a crash, or edited by hand) are ignored${unreadable.length > 1 ? `: lines ${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', …' : ''}` : ''}`,
      hint: 'nothing to do after a crash; if the ledger was edited by hand, check those lines',
    });
  }
  return { branches, records, digest: sha256Hex(text), diagnostics };
}

const BUILD_STATUSES: ReadonlySet<unknown> = new Set<LedgerBuildStatus>(['built', 'failed', 'aborted', 'lost']);
const isString = (v: unknown): v is string => typeof v === 'string';
const optional = (v: unknown, test: (v: unknown) => boolean): boolean => v === undefined || test(v);

/** The fingerprint inputs of a successful build, as computeFingerprints makes them. */
function isInputs(v: unknown): v is FingerprintInputs {
  return isRecord(v) && typeof v['format'] === 'number' && isString(v['version']) && isString(v['pipeline']) && isString(v['rebuild']) && isStringRecord(v['recipe']) && isStringRecord(v['prerequisites']) && isStringRecord(v['dependencies']);
}

/** Whether a line of the current format has every field the readers use, of the right type. */
function isLedgerRecord(v: object): v is LedgerRecord {
  const r = v as Record<string, unknown>;
  if (!isString(r['branch']) || !isString(r['recipe']) || !isString(r['fingerprint']) || !isString(r['at']) || !isString(r['version'])) return false;
  switch (r['kind']) {
    case 'build':
      return (
        BUILD_STATUSES.has(r['status']) &&
        optional(r['host'], isString) &&
        optional(r['log'], isString) &&
        optional(r['phase'], isString) &&
        optional(r['sourceCommit'], isString) &&
        optional(r['seconds'], (s) => typeof s === 'number' && Number.isFinite(s) && s >= 0) &&
        optional(r['inputs'], isInputs)
      );
    case 'review':
      return (r['decision'] === 'approved' || r['decision'] === 'rejected') && optional(r['reason'], isString);
    case 'staged':
      return isString(r['repo']);
    default:
      return false;
  }
}

function applyRecord(history: MutableHistory, record: LedgerRecord): void {
  if (record.kind === 'review') {
    if (record.decision === 'rejected') history.rejected.set(record.fingerprint, record.reason ?? '');
    else history.rejected.delete(record.fingerprint);
    return;
  }
  // The staging area itself is what the planner reads; the record is history.
  if (record.kind !== 'build') return;
  history.last = {
    fingerprint: record.fingerprint,
    version: record.version,
    status: record.status,
    at: record.at,
    ...(record.host !== undefined ? { host: record.host } : {}),
    ...(record.log !== undefined ? { log: record.log } : {}),
    ...(record.phase !== undefined ? { phase: record.phase } : {}),
  };
  if (record.status === 'built') {
    if (record.seconds !== undefined) history.lastSuccessSeconds = record.seconds;
    if (record.sourceCommit !== undefined) history.lastBuiltCommit = record.sourceCommit;
    else delete history.lastBuiltCommit;
    if (record.inputs !== undefined) {
      history.builtInputs.delete(record.fingerprint);
      history.builtInputs.set(record.fingerprint, record.inputs);
      if (history.builtInputs.size > KEPT_INPUTS) history.builtInputs.delete(history.builtInputs.keys().next().value!);
    }
  }
}

/**
 * Appends records to the ledger and fsyncs it: once this resolves, the outcomes
 * survive a crash.
 */
export async function appendLedger(stateDir: string, records: readonly LedgerRecord[]): Promise<void> {
  if (records.length === 0) return;
  await mkdir(stateDir, { recursive: true });
  const handle = await open(path.join(stateDir, LEDGER_FILE), 'a+', 0o644);
  try {
    // A run killed while appending may have left a torn last line: end it, so that it does not swallow these records.
    const { size } = await handle.stat();
    const last = Buffer.alloc(1);
    const torn = size > 0 && (await handle.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] !== 0x0a;
    await handle.writeFile(`${torn ? '\n' : ''}${records.map((r) => `${JSON.stringify(r)}\n`).join('')}`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
