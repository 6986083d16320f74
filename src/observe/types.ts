/**
 * The observed state: what the repositories hold and what the ledger remembers
 * of earlier builds. Plain data, read by observe/ and consumed by the pure planner.
 */
import type { FingerprintInputs } from '../model/fingerprint.js';

/** One package of a plain repository's index.json. */
export interface RepoEntry {
  readonly name: string;
  readonly version: string;
  /** File name beside index.json. */
  readonly file: string;
  readonly sha256: string;
  /** Bytes. */
  readonly size: number;
  readonly depends: readonly string[];
  readonly provides: readonly string[];
  readonly fingerprint: string;
  readonly description?: string;
  /** The recipe that produced it (absent in indexes written by other tools). */
  readonly recipe?: string;
}

export interface RepoState {
  readonly name: string;
  readonly path: string;
  /** By package name. */
  readonly entries: ReadonlyMap<string, RepoEntry>;
}

export type LedgerBuildStatus = 'built' | 'failed' | 'aborted' | 'lost';

/** What the ledger remembers of one recipe of one branch. */
export interface RecipeHistory {
  /** The most recent build attempt. */
  readonly last?: {
    readonly fingerprint: string;
    readonly version: string;
    readonly status: LedgerBuildStatus;
    readonly at: string;
    readonly host?: string;
    readonly log?: string;
    readonly phase?: string;
  };
  /** Inputs of recent successful builds, by fingerprint (what the plan compares against). */
  readonly builtInputs: ReadonlyMap<string, FingerprintInputs>;
  /** Duration of the last successful build, seconds. */
  readonly lastSuccessSeconds?: number;
  /** Git sources: the source commit of the last successful build. */
  readonly lastBuiltCommit?: string;
  /** Fingerprints rejected in review, with the reason given. */
  readonly rejected: ReadonlyMap<string, string>;
}

/** A finished build of a repo with `review: manual`, waiting in the staging area for `review approve` or `reject`. */
export interface StagedInfo {
  readonly recipe: string;
  readonly version: string;
  readonly fingerprint: string;
  readonly repo: string;
  /** ISO 8601. */
  readonly stagedAt: string;
  /** Index entries to publish; each `file` is in the staged build's directory. */
  readonly entries: readonly RepoEntry[];
}

export interface ObservedBranch {
  readonly repos: ReadonlyMap<string, RepoState>;
  /** By recipe id. */
  readonly history: ReadonlyMap<string, RecipeHistory>;
  /** Builds awaiting review, by recipe id (absent: none). */
  readonly staged?: ReadonlyMap<string, StagedInfo>;
}
