/**
 * Rules across config files that a JSON Schema cannot express: unique host names,
 * pipelines that exist, host selectors that match, repos that do not share a path.
 */
import { closest } from './schema.js';
import type { Diagnostic } from './diagnostic.js';
import type { BranchConfig, HostConfig, Located, PipelineConfig } from './types.js';

export interface CrossCheckInput {
  readonly dir: string;
  readonly hosts: readonly HostConfig[];
  /** False when hosts.yaml had errors of its own (then host selectors are not checked against a partial list). */
  readonly hostsComplete: boolean;
  readonly branches: readonly BranchConfig[];
  readonly pipelines: ReadonlyMap<string, PipelineConfig>;
  /** Pipelines whose file exists but has errors of its own (not reported again as missing). */
  readonly brokenPipelines: ReadonlySet<string>;
}

function at(where: Located, message: string, hint: string, severity: 'error' | 'warning' = 'error'): Diagnostic {
  return { severity, file: where.file, line: where.position.line, col: where.position.col, message, hint };
}

export function crossCheck(input: CrossCheckInput): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];

  const hostsByName = new Map<string, HostConfig>();
  for (const host of input.hosts) {
    const first = hostsByName.get(host.name);
    if (first !== undefined) {
      diagnostics.push(at(host, `duplicate host name "${host.name}" (first defined at line ${first.position.line})`, 'host names must be unique: rename or remove one of them'));
    } else hostsByName.set(host.name, host);
  }

  const reposByPath = new Map<string, { branch: string; repo: string; where: Located }>();
  for (const branch of input.branches) {
    if (!input.pipelines.has(branch.pipeline) && !input.brokenPipelines.has(branch.pipeline)) {
      const suggestion = closest(branch.pipeline, [...input.pipelines.keys()]);
      diagnostics.push(
        at(
          { file: branch.file, position: branch.positions.pipeline },
          `pipeline "${branch.pipeline}" does not exist (no pipelines/${branch.pipeline}.yaml)`,
          suggestion !== undefined
            ? `did you mean "${suggestion}"?`
            : input.pipelines.size > 0
              ? `use one of: ${[...input.pipelines.keys()].sort().join(', ')}, or create pipelines/${branch.pipeline}.yaml`
              : `create pipelines/${branch.pipeline}.yaml`,
        ),
      );
    }
    if (input.pipelines.get(branch.pipeline)?.isolation === 'overlay' && branch.prerequisites.length === 0) {
      diagnostics.push(
        at(
          { file: branch.file, position: branch.positions.pipeline },
          `pipeline "${branch.pipeline}" builds in isolation (overlay), which needs a root: this branch has no prerequisites`,
          'add a prerequisite tarball holding the build root (docs/ISOLATION.md says how to make one), or use a pipeline with `isolation: none`',
        ),
      );
    }
    if (branch.hostLabels.length > 0 && input.hostsComplete) {
      const matching = input.hosts.filter((h) => branch.hostLabels.every((l) => h.labels.includes(l)));
      if (matching.length === 0) {
        diagnostics.push(
          at(
            { file: branch.file, position: branch.positions.hosts },
            `no host has all the labels ${branch.hostLabels.join(', ')}`,
            'add the labels to a host in hosts.yaml, or change the selector',
          ),
        );
      }
    }
    for (const repo of branch.repos) {
      const other = reposByPath.get(repo.path);
      if (other !== undefined) {
        diagnostics.push(
          at(repo, `repo "${repo.name}" uses the same path as repo "${other.repo}" of branch "${other.branch}" (${other.where.file}:${other.where.position.line})`, 'give every repo a directory of its own'),
        );
      } else reposByPath.set(repo.path, { branch: branch.name, repo: repo.name, where: repo });
    }
  }
  return diagnostics;
}
