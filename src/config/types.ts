/**
 * Normalized configuration: what the YAML files say, with defaults applied and
 * paths made absolute. The written form is described by the JSON Schemas in schema/.
 */
import type { Position } from './yamlFile.js';

export type HostName = string & { readonly __brand: 'HostName' };
export type BranchName = string & { readonly __brand: 'BranchName' };

/** Where a config value was written, for diagnostics raised after loading. */
export interface Located {
  /** File as shown to the user (relative to the config directory). */
  readonly file: string;
  readonly position: Position;
}

/** The most builds one host may run at once (hosts.schema.json's `power` maximum). */
export const MAX_HOST_POWER = 1000;

export interface HostConfig extends Located {
  readonly name: HostName;
  readonly transport: 'local' | 'ssh';
  /** Builds at once, 1 to MAX_HOST_POWER. */
  readonly power: number;
  readonly labels: readonly string[];
  readonly address?: string;
  readonly port: number;
  readonly user?: string;
  /** Absolute path. */
  readonly identityFile?: string;
  /** Name of the environment variable holding the key's passphrase. */
  readonly passphraseEnv?: string;
  /** Absolute path. */
  readonly knownHostsFile?: string;
  /** Absolute path on the host. */
  readonly workdir: string;
  /** SSH: seconds to reach the host before it counts as down (absent: the transport's default). */
  readonly connectTimeoutSeconds?: number;
  /** The 1-minute load average above which the host gets no new builds (absent: the load is not read). */
  readonly maxLoad?: number;
  /** Seconds a load reading is trusted before the host is asked again. */
  readonly loadCheckIntervalSeconds?: number;
  /** Absolute path on the host of the file the load is read from (absent: /proc/loadavg, else `sysctl vm.loadavg`). */
  readonly loadFile?: string;
}

/** `quarantine:` of hosts.yaml: hosts failing in `after` consecutive runs get no builds for `forSeconds`. */
export interface QuarantineConfig {
  readonly after: number;
  readonly forSeconds: number;
}

export type SourceConfig =
  | { readonly kind: 'path'; readonly path: string; readonly format: RecipeFormat; readonly index?: FreebsdIndexConfig }
  | {
      readonly kind: 'git';
      /** A URL, or the absolute path of a local repository. */
      readonly url: string;
      /** Branch, tag or commit (default `HEAD`). */
      readonly ref: string;
      /** Directory inside the repository ('' for the top). */
      readonly subdir: string;
      readonly format: RecipeFormat;
    };

export type RecipeFormat = 'recipe' | 'srcinfo' | 'freebsd-index';

/** Where a `freebsd-index` source's INDEX is, and how it is regenerated. */
export interface FreebsdIndexConfig {
  /** Absolute path of the INDEX file (`.gz`: read uncompressed). */
  readonly file: string;
  /** Shell command run in the source tree by `reconcile` (never by `plan`) to regenerate the INDEX. */
  readonly command?: string;
  /** Wall-time limit of `command`, seconds. */
  readonly timeoutSeconds: number;
}

/** Default limit of a freebsd-index `indexCommand`, seconds. */
export const DEFAULT_INDEX_TIMEOUT_SECONDS = 1800;
/** The architecture of a branch that names none (`architecture:`). */
export const DEFAULT_ARCHITECTURE = 'x86_64';
export type RebuildPolicy = 'transitive' | 'direct' | 'version';

export interface PrerequisiteConfig extends Located {
  readonly name: string;
  /** Absolute path of the tarball. */
  readonly path: string;
  readonly sha256: string;
  /** Where the `sha256` value was written (a digest mismatch points there). */
  readonly sha256Position: Position;
  /** Most bytes the tarball may unpack to (`maxUnpackedSize`; default {@link DEFAULT_MAX_UNPACKED_BYTES}): entry sizes plus 512 per entry. */
  readonly maxUnpackedBytes: number;
}

/** Default `maxUnpackedSize` of a prerequisite: 16 GiB. */
export const DEFAULT_MAX_UNPACKED_BYTES = 16 * 1024 ** 3;

export interface DudConfig extends Located {
  readonly package: string;
  readonly reason: string;
}

export interface RepoConfig extends Located {
  readonly name: string;
  /** Absolute path of the repository directory. */
  readonly path: string;
  readonly format: 'plain' | 'pacman';
  /** Globs of package names this repo takes. */
  readonly packages: readonly string[];
  readonly prune: boolean;
  readonly review: 'auto' | 'manual';
  /** Absolute paths of the hook programs, run after each publish. */
  readonly afterPublish: readonly string[];
  /** Seconds each afterPublish hook may run (`hooks.timeout`; default {@link DEFAULT_HOOK_TIMEOUT_SECONDS}). */
  readonly hookTimeoutSeconds: number;
  /** `format: pacman` only: sign the packages and the databases with this GnuPG key (`sign:`). */
  readonly sign?: SigningConfig;
}

/** A pacman repo's `sign:`: the key its packages and databases are signed with, on the machine that publishes. */
export interface SigningConfig {
  /** What `gpg --local-user` takes: a fingerprint, key id or e-mail address. */
  readonly key: string;
  /** Absolute path of the GnuPG home holding the secret key; absent: gpg's own ($GNUPGHOME, else ~/.gnupg). */
  readonly gnupgHome?: string;
}

/** Default `hooks.timeout` of a repo, seconds. */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 600;

export interface BranchConfig {
  readonly name: BranchName;
  readonly file: string;
  readonly source: SourceConfig;
  readonly pipeline: string;
  /** Hosts must carry all of these labels. */
  readonly hostLabels: readonly string[];
  readonly rebuild: RebuildPolicy;
  /** The architecture built for (`x86_64`, `aarch64`, …): chooses a .SRCINFO's arch-specific fields. Default `x86_64`. */
  readonly architecture: string;
  readonly prerequisites: readonly PrerequisiteConfig[];
  readonly duds: readonly DudConfig[];
  readonly repos: readonly RepoConfig[];
  /** Prune and storm guards (defaults applied). */
  readonly guards: GuardsConfig;
  /** Where `pipeline:` and `hosts:` were written, for cross-file diagnostics. */
  readonly positions: { readonly pipeline: Position; readonly hosts: Position };
}

export interface GuardsConfig {
  /** Most builds one plan of the branch may hold; null: no limit. */
  readonly maxBuilds: number | null;
  /** Highest share of a repo's packages one plan may remove, in percent. */
  readonly maxRemovePercent: number;
}

/** Guards of a branch that sets none: a storm of more than 500 builds, or pruning more than half a repo, needs `--allow-large`. */
export const DEFAULT_GUARDS: GuardsConfig = { maxBuilds: 500, maxRemovePercent: 50 };

export interface PipelineStep {
  readonly name: string;
  readonly run: string;
  /** Wall-time limit in seconds. */
  readonly timeoutSeconds: number;
  /** Seconds without output after which the step counts as hung; absent = no limit. */
  readonly idleTimeoutSeconds?: number;
  /** With overlay isolation: the step may reach the network (otherwise it sees loopback only). */
  readonly network: boolean;
}

/** How a build's steps are separated from the host: not at all, or in throw-away namespaces (docs/ISOLATION.md). */
export type IsolationMode = 'none' | 'overlay';

/** Per-build limits, enforced inside isolation; absent = no limit. */
export interface BuildLimits {
  /** Address space of each process, bytes (RLIMIT_AS). */
  readonly memoryBytes?: number;
  /** Processes of the build at once (RLIMIT_NPROC inside the build's user namespace). */
  readonly processes?: number;
  /** Largest file a step may write, bytes (RLIMIT_FSIZE). */
  readonly outputBytes?: number;
}

export interface PipelineConfig {
  readonly name: string;
  readonly file: string;
  readonly steps: readonly PipelineStep[];
  readonly artifacts: readonly string[];
  readonly isolation: IsolationMode;
  readonly limits: BuildLimits;
  /** Most bytes of one build's log file (`logLimit`; absent: {@link DEFAULT_LOG_LIMIT_BYTES}); past it the head and the tail are kept. Not part of the digest. */
  readonly logLimitBytes?: number;
  /** Commands a host must have on its PATH (none when absent; not part of the digest: they do not change the output). */
  readonly requires?: readonly string[];
  /** A shell command a local host must pass (exit 0) to run this pipeline, checked before planning; not part of the digest. */
  readonly hostCheck?: string;
  /** sha256 of the parts that determine a build's output (step names and commands, artifact globs). */
  readonly digest: string;
}

export interface Config {
  /** Absolute path of the config directory. */
  readonly dir: string;
  readonly hosts: readonly HostConfig[];
  /** Absent: hosts are never quarantined. */
  readonly quarantine?: QuarantineConfig;
  /** Sorted by name. */
  readonly branches: readonly BranchConfig[];
  readonly pipelines: ReadonlyMap<string, PipelineConfig>;
}

/** Default wall-time limit of a pipeline step, in seconds. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = 3600;

/**
 * The longest duration that becomes a timer (a step's timeout and idleTimeout, hooks.timeout,
 * connectTimeout, indexTimeout, and the --grace, --interval and --debounce options): 24 days.
 * Node's timers hold at most 2^31 - 1 ms (24.8 days) and fire at once for more.
 */
export const MAX_TIMER_SECONDS = 24 * 24 * 3600;
export const DEFAULT_WORKDIR = '/var/tmp/buildfleet';
/** Default `logLimit` of a pipeline: 20 MiB per build log. */
export const DEFAULT_LOG_LIMIT_BYTES = 20 * 1024 ** 2;
/** Smallest `logLimit`, bytes: the head, the marker line and a useful tail must fit. */
export const MIN_LOG_LIMIT_BYTES = 4096;

/** `1h30m` → 5400. Returns undefined for text that is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (match === null || text === '') return undefined;
  const [, h, m, s] = match;
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
}

/** `512M` → 536870912 (K, M, G are powers of 1024; no suffix: bytes). Undefined for other text. */
export function parseSize(text: string): number | undefined {
  const match = /^([1-9][0-9]*)([KMG]?)$/.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * 1024 ** ['', 'K', 'M', 'G'].indexOf(match[2]!);
}

/** 536870912 → `512M`: the largest unit that divides the size exactly. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
