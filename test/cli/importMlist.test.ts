/** `buildfleet import mlist`: portbuild's machine list to hosts.yaml entries. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { testdir } from '../helpers/testdir.js';

const MLIST = '# portbuild machines for i386\ngohan1.FreeBSD.org 2\n\ngohan2.freebsd.org\t4   # the fast one\n';

describe('buildfleet import mlist', () => {
  it('prints hosts.yaml entries (names in lower case, the address as written)', async () => {
    const dir = testdir({ mlist: MLIST });
    const r = await runCli(['import', 'mlist', path.join(dir, 'mlist'), '--label', 'freebsd', '--label', 'i386'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        '# hosts.yaml entries imported from mlist by buildfleet import mlist',
        '',
        'hosts:',
        '  - name: gohan1.freebsd.org',
        '    transport: ssh',
        '    address: gohan1.FreeBSD.org',
        '    user: build',
        '    knownHostsFile: keys/known_hosts',
        '    workdir: /var/tmp/buildfleet',
        '    power: 2',
        '    labels:',
        '      - freebsd',
        '      - i386',
        '  - name: gohan2.freebsd.org',
        '    transport: ssh',
        '    address: gohan2.freebsd.org',
        '    user: build',
        '    knownHostsFile: keys/known_hosts',
        '    workdir: /var/tmp/buildfleet',
        '    power: 4',
        '    labels:',
        '      - freebsd',
        '      - i386',
        '',
      ].join('\n'),
    );
  });

  it('reports every bad line, located, and prints nothing', async () => {
    const dir = testdir({ mlist: `gohan1 2\nbad line here\ngohan3 zero\n  gohan1 1\nfoo/bar 1\ngohan4 0\ngohan5 1001\ngohan6 1${'0'.repeat(400)}\n` });
    const r = await runCli(['import', 'mlist', 'mlist'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'mlist:2:1: error: expected "hostname power", found 3 fields',
        '  hint: write one machine per line: its host name, a space and its power (builds at once), e.g. `gohan1.freebsd.org 2`',
        'mlist:3:8: error: power "zero" is not a whole number of builds at once from 1 to 1000',
        '  hint: give the number of builds the machine runs at once, e.g. 2',
        'mlist:4:3: error: host "gohan1" is listed again (first on line 1)',
        '  hint: list each machine once',
        'mlist:5:1: error: "foo/bar" is not a usable host name',
        "  hint: host names use letters, digits, '.', '_' and '-', and start with a letter or digit",
        'mlist:6:8: error: power "0" is not a whole number of builds at once from 1 to 1000',
        '  hint: give the number of builds the machine runs at once, e.g. 2',
        'mlist:7:8: error: power "1001" is not a whole number of builds at once from 1 to 1000',
        '  hint: give the number of builds the machine runs at once, e.g. 2',
        `mlist:8:8: error: power "1${'0'.repeat(79)}…" (401 characters) is not a whole number of builds at once from 1 to 1000`,
        '  hint: give the number of builds the machine runs at once, e.g. 2',
        '',
      ].join('\n'),
    );
  });

  it('--merge adds the hosts to hosts.yaml keeping its comments, and refuses names already there', async () => {
    const hostsYaml = '# the farm\nhosts:\n  # this machine\n  - name: local\n    transport: local\n    power: 2 # two cores\n';
    const dir = testdir({ mlist: MLIST, 'hosts.yaml': hostsYaml });
    const r = await runCli(['-C', dir, 'import', 'mlist', path.join(dir, 'mlist'), '--merge', '--user', 'portbuild'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const merged = readFileSync(path.join(dir, 'hosts.yaml'), 'utf8');
    expect(merged.startsWith(hostsYaml)).toBe(true);
    expect(merged).toContain('  - name: gohan2.freebsd.org\n    transport: ssh\n    address: gohan2.freebsd.org\n    user: portbuild\n');
    const again = await runCli(['-C', dir, 'import', 'mlist', 'mlist', '--merge'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('mlist:2:1: error: host "gohan1.freebsd.org" is already in hosts.yaml');
    expect(readFileSync(path.join(dir, 'hosts.yaml'), 'utf8')).toBe(merged);
  });
});
