/**
 * Fingerprints: the sha256 of canonical data of every input that determines a
 * build's output. The data is kept beside the hash so that a plan can name the
 * input that changed. Pure.
 */
import type { RebuildPolicy } from '../config/types.js';
import type { InputChange } from '../plan/types.js';
import { CanonicalJsonBytes, canonicalJson, hashCanonical, sha256Hex } from './canonical.js';
import type { DependencyGraph, IndexedGraph } from './graph.js';
import { writeJsonString } from './utf8.js';
import { formatVersion, type Fingerprint, type Recipe, type RecipeId } from './types.js';

export const FINGERPRINT_FORMAT = 1;

/** Everything a build's output depends on. Stored in the ledger with each build. */
export interface FingerprintInputs {
  readonly format: typeof FINGERPRINT_FORMAT;
  /** sha256 of each recipe file, by path in the recipe directory. */
  readonly recipe: Readonly<Record<string, string>>;
  /** Full version `[epoch:]version-release`. */
  readonly version: string;
  /** Digest of the pipeline definition. */
  readonly pipeline: string;
  /** sha256 of each prerequisite tarball, by name. */
  readonly prerequisites: Readonly<Record<string, string>>;
  readonly rebuild: RebuildPolicy;
  /**
   * Per dependency (recipe id): its fingerprint (`transitive`), the digest of its
   * own inputs (`direct`) or its version (`version`).
   */
  readonly dependencies: Readonly<Record<string, string>>;
}

export interface FingerprintedRecipe {
  readonly fingerprint: Fingerprint;
  readonly inputs: FingerprintInputs;
}

export interface FingerprintContext {
  readonly pipelineDigest: string;
  readonly prerequisites: Readonly<Record<string, string>>;
  readonly rebuild: RebuildPolicy;
}

/** Fingerprints of every valid recipe of the graph, dependencies first. */
export function computeFingerprints(graph: DependencyGraph, context: FingerprintContext): FingerprintTable {
  const localDigests = new Map<RecipeId, string>();
  const localDigest = (recipe: Recipe): string => {
    let digest = localDigests.get(recipe.id);
    if (digest === undefined) {
      digest = hashCanonical({ recipe: recipe.files, version: formatVersion(recipe.version), pipeline: context.pipelineDigest, prerequisites: context.prerequisites });
      localDigests.set(recipe.id, digest);
    }
    return digest;
  };
  // The parts shared by every recipe of the branch, serialized once.
  const shared = {
    format: String(FINGERPRINT_FORMAT),
    pipeline: JSON.stringify(context.pipelineDigest),
    prerequisites: canonicalJson(context.prerequisites),
    rebuild: JSON.stringify(context.rebuild),
  };
  /**
   * Per dependency (node index), its value and its `"id":"value"` member of the canonical JSON,
   * computed once: an INDEX lists dependency closures, so a popular port is named by thousands of
   * others. A kept member is kept as UTF-8 bytes (`store[memberStart[d], memberEnd[d])`); each
   * recipe's canonical JSON is assembled as bytes in one reused buffer and hashed from there (for
   * 35,000 ports that is about 85 MB of JSON, which as strings cost far more to join and encode).
   */
  const { nodes, depStart, depList, order, recipes } = graph.indexed;
  const values: (string | undefined)[] = new Array<string | undefined>(nodes.length);
  const memberStart = new Int32Array(nodes.length).fill(-1);
  const memberEnd = new Int32Array(nodes.length);
  // One buffer holds both the kept members (from 0) and the JSON being assembled (from `jsonBase`),
  // so that a member is copied with copyWithin: no view object per copy (a million copies).
  let store = Buffer.allocUnsafe(1 << 20);
  let jsonBase = 1 << 19;
  let memberUsed = 0;
  /** Bytes of the JSON being assembled (at `jsonBase`). */
  let at = 0;
  const grow = (memberNeed: number, jsonNeed: number): void => {
    const memberRoom = memberNeed > jsonBase ? Math.max(jsonBase * 2, memberNeed) : jsonBase;
    const jsonRoom = jsonNeed > store.length - jsonBase ? Math.max((store.length - jsonBase) * 2, jsonNeed) : store.length - jsonBase;
    const grown = Buffer.allocUnsafe(memberRoom + jsonRoom);
    store.copy(grown, 0, 0, memberUsed);
    store.copy(grown, memberRoom, jsonBase, jsonBase + at);
    store = grown;
    jsonBase = memberRoom;
  };
  /** Keeps node d's member `"key":"value"` (as canonicalJson writes it). */
  const keepMember = (d: number, key: string, value: string): void => {
    const need = (key.length + value.length) * 6 + 5;
    if (memberUsed + need > jsonBase) grow(memberUsed + need, at);
    memberStart[d] = memberUsed;
    memberUsed += writeJsonString(store, key, memberUsed);
    store[memberUsed++] = 58; // :
    memberUsed += writeJsonString(store, value, memberUsed);
    memberEnd[d] = memberUsed;
  };
  const room = (length: number): void => {
    if (jsonBase + at + length > store.length) grow(memberUsed, at + length);
  };
  /** Appends bytes that were encoded once (the parts every recipe's JSON shares). */
  const writeBytes = (bytes: Buffer): void => {
    room(bytes.length);
    store.set(bytes, jsonBase + at);
    at += bytes.length;
  };
  /** Appends `text` as canonicalJson writes a string. */
  const writeString = (text: string): void => {
    room(text.length * 6 + 2);
    at += writeJsonString(store, text, jsonBase + at);
  };
  /** Appends the member `"key":"value"` as canonicalJson writes it. */
  const writeStringMember = (key: string, value: string): void => {
    writeString(key);
    room(1);
    store[jsonBase + at++] = 58; // :
    writeString(value);
  };
  /** Appends `canonicalJson(record)` of a record of strings (a recipe's file digests), written where it is assembled. */
  const writeStringRecord = (record: Readonly<Record<string, string>>): void => {
    const keys = Object.keys(record);
    if (keys.length > 1) keys.sort();
    room(1);
    store[jsonBase + at++] = 123; // {
    let first = true;
    for (let k = 0; k < keys.length; k++) {
      const value = record[keys[k]!];
      if (value === undefined) continue;
      if (!first) {
        room(1);
        store[jsonBase + at++] = 44; // ,
      }
      first = false;
      writeStringMember(keys[k]!, value);
    }
    room(1);
    store[jsonBase + at++] = 125; // }
  };
  /** Appends dependency d's member; false when its value is provisional (a transitive one on a cycle, not fingerprinted yet). */
  const writeMember = (d: number): boolean => {
    if (memberStart[d] === -1) {
      const depId = nodes[d]!;
      const dep = recipes[d];
      let value: string;
      if (dep === undefined) value = 'invalid';
      else if (context.rebuild === 'transitive') value = 'cycle'; // not fingerprinted yet: on a cycle, skipped anyway
      else if (context.rebuild === 'direct') value = localDigest(dep);
      else value = formatVersion(dep.version);
      values[d] = value;
      // A transitive dependency on a cycle gets its fingerprint later: that is not kept.
      if (dep !== undefined && context.rebuild === 'transitive') {
        writeStringMember(depId, value);
        return false;
      }
      keepMember(d, depId, value);
    }
    const from = memberStart[d]!;
    const length = memberEnd[d]! - from;
    room(length);
    store.copyWithin(jsonBase + at, from, from + length);
    at += length;
    return true;
  };
  /** What every recipe's fingerprint data shares. */
  const batch: FingerprintBatch = { context, graph: graph.indexed, values };
  const fingerprints = new Array<Fingerprint | undefined>(nodes.length);
  const ownValuesOf = new Map<number, readonly string[]>();
  const head = Buffer.from(`{"dependencies":{`, 'utf8');
  const middle = Buffer.from(`},"format":${shared.format},"pipeline":${shared.pipeline},"prerequisites":${shared.prerequisites},"rebuild":${shared.rebuild},"recipe":`, 'utf8');
  const versionKey = Buffer.from(`,"version":`, 'utf8');
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    const recipe = recipes[i];
    if (recipe === undefined) continue;
    const id = nodes[i]!;
    const first = depStart[i]!;
    const end = depStart[i + 1]!;
    // Exactly canonicalJson(inputs), built without materializing the object (35,000 recipes).
    at = 0;
    writeBytes(head);
    /** Whether a dependency's value is provisional (on a cycle): the values are then copied as they are now. */
    let provisional = false;
    for (let k = first; k < end; k++) {
      if (k > first) {
        room(1);
        store[jsonBase + at++] = 44; // ,
      }
      if (!writeMember(depList[k]!)) provisional = true;
    }
    const version = formatVersion(recipe.version);
    writeBytes(middle);
    writeStringRecord(recipe.files);
    writeBytes(versionKey);
    writeString(version);
    room(1);
    store[jsonBase + at++] = 125; // }
    const fingerprint = sha256Hex(store.subarray(jsonBase, jsonBase + at)) as Fingerprint;
    // A dependency's value, once kept, never changes: the recipe reads it from the shared values when asked.
    if (provisional) ownValuesOf.set(i, Array.from(depList.subarray(first, end), (d) => values[d]!));
    fingerprints[i] = fingerprint;
    if (context.rebuild === 'transitive') {
      values[i] = fingerprint;
      keepMember(i, id, fingerprint);
    }
  }
  return new FingerprintTable(batch, fingerprints, ownValuesOf);
}

/**
 * The fingerprints of a graph's recipes, by node: a `ReadonlyMap` from recipe id (in dependency
 * order, as computed) whose entries are made when asked for. A plan reads the fingerprint of each
 * of its 35,000 ports by node (`fingerprintAt`), and the inputs of the few that changed.
 */
export class FingerprintTable implements ReadonlyMap<RecipeId, FingerprintedRecipe> {
  /** The entries made so far, by node. */
  private readonly made = new Map<number, LazyFingerprint>();
  readonly size: number;

  constructor(
    private readonly batch: FingerprintBatch,
    private readonly fingerprints: readonly (Fingerprint | undefined)[],
    private readonly ownValuesOf: ReadonlyMap<number, readonly string[]>,
  ) {
    let size = 0;
    for (let i = 0; i < fingerprints.length; i++) if (fingerprints[i] !== undefined) size++;
    this.size = size;
  }

  /** The graph the fingerprints are of. */
  get graph(): IndexedGraph {
    return this.batch.graph;
  }

  /** The fingerprint of node `i` of the graph; undefined for an invalid recipe. */
  fingerprintAt(i: number): Fingerprint | undefined {
    return this.fingerprints[i];
  }

  /** The fingerprint and inputs of node `i`; undefined for an invalid recipe. */
  at(i: number): FingerprintedRecipe | undefined {
    const fingerprint = this.fingerprints[i];
    if (fingerprint === undefined) return undefined;
    let entry = this.made.get(i);
    if (entry === undefined) {
      entry = new LazyFingerprint(fingerprint, this.batch.graph.recipes[i]!, this.batch, i, this.ownValuesOf.get(i));
      this.made.set(i, entry);
    }
    return entry;
  }

  get(id: RecipeId): FingerprintedRecipe | undefined {
    const i = this.batch.graph.indexOf.get(id);
    return i === undefined ? undefined : this.at(i);
  }

  has(id: RecipeId): boolean {
    const i = this.batch.graph.indexOf.get(id);
    return i !== undefined && this.fingerprints[i] !== undefined;
  }

  forEach(callback: (value: FingerprintedRecipe, key: RecipeId, map: ReadonlyMap<RecipeId, FingerprintedRecipe>) => void, thisArg?: unknown): void {
    for (const [id, value] of this.entries()) callback.call(thisArg, value, id, this);
  }

  /** Calls `callback` with each recipe's id and fingerprint, in dependency order (no entry is made). */
  forEachFingerprint(callback: (fingerprint: Fingerprint, id: RecipeId) => void): void {
    const { order, nodes } = this.batch.graph;
    for (let k = 0; k < order.length; k++) {
      const fingerprint = this.fingerprints[order[k]!];
      if (fingerprint !== undefined) callback(fingerprint, nodes[order[k]!]!);
    }
  }

  /**
   * `${id}:${fingerprint}` of each recipe in dependency order (as forEachFingerprint), as the canonical JSON of that list of
   * strings (what JSON.stringify writes), written as UTF-8 bytes: for the desired-state digest of a
   * branch of 35,000 ports, without a string per line or of the list.
   */
  idFingerprintList(): CanonicalJsonBytes {
    let bytes = Buffer.allocUnsafe(1 << 16);
    let at = 0;
    bytes[at++] = 91; // [
    const { order, nodes } = this.batch.graph;
    for (let k = 0; k < order.length; k++) {
      const fingerprint = this.fingerprints[order[k]!];
      if (fingerprint === undefined) continue;
      const id = nodes[order[k]!]!;
      // The member, a comma, and room for the closing bracket.
      const need = id.length * 6 + fingerprint.length + 5;
      if (at + need > bytes.length) {
        const grown = Buffer.allocUnsafe(Math.max(bytes.length * 2, at + need));
        bytes.copy(grown, 0, 0, at);
        bytes = grown;
      }
      if (at > 1) bytes[at++] = 44; // ,
      // The id as a JSON string without its closing quote, then `:digest"` (hex needs no escape).
      at += writeJsonString(bytes, id, at) - 1;
      bytes[at++] = 58; // :
      at += bytes.write(fingerprint, at, 'latin1');
      bytes[at++] = 34; // "
    }
    bytes[at++] = 93; // ]
    return new CanonicalJsonBytes(bytes.subarray(0, at));
  }

  /** In dependency order (the graph's order), as they were computed. */
  *entries(): MapIterator<[RecipeId, FingerprintedRecipe]> {
    const { order, nodes } = this.batch.graph;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      if (this.fingerprints[i] !== undefined) yield [nodes[i]!, this.at(i)!];
    }
  }

  *keys(): MapIterator<RecipeId> {
    for (const [id] of this.entries()) yield id;
  }

  *values(): MapIterator<FingerprintedRecipe> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[RecipeId, FingerprintedRecipe]> {
    return this.entries();
  }
}

/** Reads the fingerprint of each node of `graph` from `fingerprints`: by index when they are a table of that graph. */
export function fingerprintReader(fingerprints: ReadonlyMap<RecipeId, FingerprintedRecipe>, graph: IndexedGraph): (i: number) => Fingerprint | undefined {
  if (fingerprints instanceof FingerprintTable && fingerprints.graph === graph) return (i) => fingerprints.fingerprintAt(i);
  return (i) => fingerprints.get(graph.nodes[i]!)?.fingerprint;
}

/** What the fingerprints of one graph share: the context, the graph, and each node's value as a dependency. */
interface FingerprintBatch {
  readonly context: FingerprintContext;
  readonly graph: IndexedGraph;
  /** A kept value never changes (the value of a transitive dependency on a cycle is not kept: see `ownValues`). */
  readonly values: readonly (string | undefined)[];
}

/** The fingerprint, with its data materialized only when asked for (diffs, the ledger). */
class LazyFingerprint implements FingerprintedRecipe {
  private materialized: FingerprintInputs | undefined;

  constructor(
    readonly fingerprint: Fingerprint,
    private readonly recipe: Recipe,
    private readonly batch: FingerprintBatch,
    /** The recipe's node in the graph. */
    private readonly node: number,
    /** The value of each dependency in order, when one was provisional (on a cycle); else they are the batch's. */
    private readonly ownValues: readonly string[] | undefined,
  ) {}

  get inputs(): FingerprintInputs {
    if (this.materialized === undefined) {
      const dependencies: Record<string, string> = {};
      const { context, graph, values } = this.batch;
      const { nodes, depStart, depList } = graph;
      const first = depStart[this.node]!;
      for (let k = first, end = depStart[this.node + 1]!; k < end; k++) {
        const d = depList[k]!;
        dependencies[nodes[d]!] = (this.ownValues !== undefined ? this.ownValues[k - first] : values[d])!;
      }
      this.materialized = {
        format: FINGERPRINT_FORMAT,
        recipe: this.recipe.files,
        version: formatVersion(this.recipe.version),
        pipeline: context.pipelineDigest,
        prerequisites: context.prerequisites,
        rebuild: context.rebuild,
        dependencies,
      };
    }
    return this.materialized;
  }
}

/** Every difference between the inputs a package was built with and the desired ones, most telling first. */
export function diffInputs(before: FingerprintInputs, after: FingerprintInputs): InputChange[] {
  const changes: InputChange[] = [];
  if (before.version !== after.version) changes.push({ kind: 'version', detail: `${before.version} -> ${after.version}` });
  changes.push(...diffRecord(before.recipe, after.recipe, 'recipe-file'));
  if (before.pipeline !== after.pipeline) changes.push({ kind: 'pipeline', detail: 'pipeline definition changed' });
  changes.push(...diffRecord(before.prerequisites, after.prerequisites, 'prerequisite', (a, b) => `${a.slice(0, 12)} -> ${b.slice(0, 12)}`));
  if (before.rebuild !== after.rebuild) changes.push({ kind: 'dependency', detail: `rebuild policy ${before.rebuild} -> ${after.rebuild}` });
  else changes.push(...diffRecord(before.dependencies, after.dependencies, 'dependency', (a, b) => (after.rebuild === 'version' ? `${a} -> ${b}` : 'changed')));
  return changes;
}

function diffRecord(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
  kind: InputChange['kind'],
  describe: (before: string, after: string) => string = () => 'changed',
): InputChange[] {
  const changes: InputChange[] = [];
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const name of names) {
    const a = before[name];
    const b = after[name];
    if (a === b) continue;
    changes.push({ kind, name, detail: a === undefined ? 'added' : b === undefined ? 'removed' : describe(a, b) });
  }
  return changes;
}
