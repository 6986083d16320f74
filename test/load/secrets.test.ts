/**
 * Secrets never leave: a key passphrase given through the variable hosts.yaml names
 * (`passphraseEnv`), the content of the identity file, and tokens in the caller's
 * environment do not appear in the log (pino, with redaction), in any document on
 * stdout (`plan`, `reconcile`, `status`, `hosts` as JSON), in any file under the state
 * directory (ledger, run results, build logs, errors/, HTML report) or in the repos —
 * even though every build prints its whole environment, one of them fails (its tail
 * goes into the run result and the report), and builds run on the local host and on
 * a real sshd. A wrong passphrase does not leak either.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../src/cli/logger.js';
import { withoutUrlCredentials } from '../../src/sources/gitSource.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { recipe, type RunDocument } from '../helpers/reconcile-fixture.js';
import { startSshFleet } from '../helpers/sshd.js';
import { testdir } from '../helpers/testdir.js';

/** Every file below `dir`, recursively (symbolic links not followed). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

/** Where each secret turns up: `<secret name> in <place>`; empty when nowhere. */
function leaks(secrets: Record<string, string>, places: Record<string, Buffer | string>): string[] {
  const found: string[] = [];
  for (const [place, content] of Object.entries(places)) {
    const text = typeof content === 'string' ? content : content.toString('latin1');
    for (const [name, secret] of Object.entries(secrets)) if (text.includes(secret)) found.push(`${name} in ${place}`);
  }
  return found;
}

const PRINT_ENV = 'env | sort; echo "end of the environment of $BUILDFLEET_PACKAGE"';
const WRITE_ENV_ARTIFACT = 'env | sort > "$BUILDFLEET_OUT/$BUILDFLEET_PACKAGE-$BUILDFLEET_VERSION.txt"';

describe('secrets', () => {
  it('redacts passphrases, keys, tokens and environments in log objects at any depth up to three', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ destination, level: 'debug' });
    log.info(
      { passphrase: 'S1', token: 'S2', host: { passphrase: 'S3', privateKey: 'S4', password: 'S5' }, deep: { ssh: { passphrase: 'S6', secret: 'S7' } }, env: { GITHUB_TOKEN: 'S8' }, request: { sshEnv: { X: 'S9' }, authorization: 'S10' } },
      'connecting',
    );
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(lines[0]).not.toMatch(/"S\d+"/);
    expect(entry).toMatchObject({ msg: 'connecting', passphrase: '[redacted]', token: '[redacted]', host: { passphrase: '[redacted]', privateKey: '[redacted]' }, env: '[redacted]' });
  });

  it('keeps a key passphrase, the identity file and environment tokens out of logs, documents, state and repos', { timeout: 120_000 }, async () => {
    const fleet = await startSshFleet({ hosts: 1 });
    onTestFinished(() => fleet.stop());
    const passphrase = `pp-${randomBytes(12).toString('hex')}`;
    const token = `ghp_${randomBytes(16).toString('hex')}`;
    const apiToken = `tok-${randomBytes(16).toString('hex')}`;
    const dir = testdir({
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n    timeout: 2m\n',
      'branches/local.yaml': 'source:\n  path: recipes\n  format: recipe\npipeline: shell\nhosts: { labels: [here] }\nrebuild: transitive\nrepos:\n  - name: main\n    path: repos/local\n    format: plain\n',
      'branches/remote.yaml': 'source:\n  path: recipes\n  format: recipe\npipeline: shell\nhosts: { labels: [there] }\nrebuild: transitive\nrepos:\n  - name: main\n    path: repos/remote\n    format: plain\n',
      ...recipe('shows-env', { script: `${PRINT_ENV}\n${WRITE_ENV_ARTIFACT}` }),
      ...recipe('fails-with-env', { script: `${PRINT_ENV}\nexit 1` }),
    });
    // A key of its own, encrypted with the passphrase, accepted by the fleet's sshd.
    const key = path.join(dir, 'keys', 'id_enc');
    mkdirSync(path.dirname(key), { recursive: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', '', '-f', key], { stdio: 'ignore' });
    appendFileSync(path.join(fleet.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
    const h = fleet.hosts[0]!;
    const hostsYaml = (envName: string): string =>
      [
        'hosts:',
        '  - name: local',
        '    transport: local',
        '    power: 2',
        '    labels: [here]',
        '  - name: h1',
        '    transport: ssh',
        `    address: ${h.address}`,
        `    port: ${h.port}`,
        `    user: ${fleet.user}`,
        '    identityFile: keys/id_enc',
        `    passphraseEnv: ${envName}`,
        `    knownHostsFile: ${fleet.knownHostsFile}`,
        `    workdir: ${h.workdir}`,
        '    power: 2',
        '    labels: [there]',
        '',
      ].join('\n');
    writeFileSync(path.join(dir, 'hosts.yaml'), hostsYaml('BF_KEY_PASSPHRASE'));
    const keyText = readFileSync(key, 'utf8');
    const keyLines = keyText.split('\n').filter((l) => l.length >= 20 && !l.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(2);
    const secrets: Record<string, string> = {
      passphrase,
      'GITHUB_TOKEN value': token,
      'API_TOKEN value': apiToken,
      ...Object.fromEntries(keyLines.map((l, i) => [`identity file line ${i + 1}`, l])),
    };
    const env = { BF_KEY_PASSPHRASE: passphrase, GITHUB_TOKEN: token, API_TOKEN: apiToken };

    const outputs: Record<string, CliResult> = {};
    outputs.validate = await runCli(['-C', dir, 'validate'], { env });
    outputs.plan = await runCli(['-C', dir, 'plan', '--format', 'json'], { env });
    outputs.reconcile = await runCli(['-C', dir, 'reconcile', '--format', 'json', '--log-format', 'json', '--log-level', 'trace'], { env });
    outputs.status = await runCli(['-C', dir, 'status', '--format', 'json'], { env });
    outputs.hosts = await runCli(['-C', dir, 'hosts', '--format', 'json'], { env });

    // The runs did what they should: the key was unlocked, both hosts built, one build failed.
    expect(outputs.reconcile.code).toBe(3);
    const doc = JSON.parse(outputs.reconcile.stdout) as RunDocument;
    const results = doc.branches.flatMap((b) => b.results.map((r) => `${b.name} ${r.package} ${r.status} ${r.host ?? ''}`)).sort();
    expect(results).toEqual(['local fails-with-env failed local', 'local shows-env built local', 'remote fails-with-env failed h1', 'remote shows-env built h1']);
    expect(outputs.hosts.code).toBe(0);
    // The builds did print their environment (so the checks below look where a leak would be).
    const failed = doc.branches[0]!.results.find((r) => r.status === 'failed')!;
    expect(failed.tail!.join('\n')).toMatch(/^BUILDFLEET_VERSION=1\.0-1\n(.*\n)*end of the environment of fails-with-env\n/m);
    const stateDir = path.join(dir, 'var');
    expect(readFileSync(path.join(stateDir, 'report.html'), 'utf8')).toContain('end of the environment of fails-with-env');

    // A wrong passphrase: the host is refused, and the wrong value is not printed either.
    const wrong = `wrong-${randomBytes(12).toString('hex')}`;
    outputs.wrongPassphrase = await runCli(['-C', dir, 'hosts', '--format', 'json', '--log-format', 'json'], { env: { ...env, BF_KEY_PASSPHRASE: wrong } });
    expect(outputs.wrongPassphrase.code).toBe(3);
    expect(outputs.wrongPassphrase.stdout).toMatch(/"reachable": false/);

    const places: Record<string, Buffer | string> = {};
    for (const [name, r] of Object.entries(outputs)) {
      places[`${name} stdout`] = r.stdout;
      places[`${name} stderr`] = r.stderr;
    }
    const stored = [...filesUnder(stateDir), ...filesUnder(path.join(dir, 'repos')), ...filesUnder(h.workdir)];
    expect(stored.filter((f) => f.endsWith('.log')).length).toBeGreaterThanOrEqual(4);
    expect(stored.some((f) => f.endsWith('report.html'))).toBe(true);
    for (const file of stored) if (statSync(file).size < 64 * 1024 * 1024) places[path.relative(dir, file)] = readFileSync(file);
    expect(leaks({ ...secrets, 'wrong passphrase': wrong }, places)).toEqual([]);
  });

  it('writes git source URLs without their credentials in messages', () => {
    const cases: [string, string][] = [
      ['cannot clone https://x-access-token:ghp_abc@github.com/o/r.git: fatal', 'cannot clone https://x-access-token:***@github.com/o/r.git: fatal'],
      ['of https://ghp_abc@github.com/o/r.git', 'of https://***@github.com/o/r.git'],
      ['of ssh://git@example.org/r.git', 'of ssh://git@example.org/r.git'],
      ['of git@example.org:o/r.git', 'of git@example.org:o/r.git'],
      ['of /srv/git/r.git and https://example.org/r.git', 'of /srv/git/r.git and https://example.org/r.git'],
    ];
    for (const [input, want] of cases) expect(withoutUrlCredentials(input)).toBe(want);
  });

  it('keeps a token written into a git source URL out of the diagnostics and the state', { timeout: 60_000 }, async () => {
    const token = `ghp_${randomBytes(16).toString('hex')}`;
    const dir = testdir({
      'hosts.yaml': 'hosts:\n  - name: local\n    transport: local\n    power: 1\n',
      'pipelines/shell.yaml': 'steps:\n  - name: build\n    run: ./build.sh\n',
      // Port 1 on loopback: the clone fails at once.
      'branches/main.yaml': `source:\n  git: https://x-access-token:${token}@127.0.0.1:1/o/r.git\n  format: recipe\npipeline: shell\nrepos:\n  - name: main\n    path: repos/main\n    format: plain\n`,
    });
    const plan = await runCli(['-C', dir, 'plan', '--format', 'json']);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain('cannot clone git source https://x-access-token:***@127.0.0.1:1/o/r.git');
    const places: Record<string, Buffer | string> = { 'plan stdout': plan.stdout, 'plan stderr': plan.stderr };
    for (const file of filesUnder(path.join(dir, 'var'))) places[path.relative(dir, file)] = readFileSync(file);
    expect(leaks({ token }, places)).toEqual([]);
  });
});
