// Real OpenSSH servers on 127.0.0.x for benchmarks: the plain-JS twin of
// test/helpers/sshd.ts (same sshd_config; see there for why each line is there).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function keygen(file) {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', file], { stdio: 'ignore' });
  return fs.readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

function freePort(address) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts one sshd per address; returns { dir, user, identityFile, knownHostsFile, hosts: [{ address, port, workdir }], stop() }. */
export async function startSshd(addresses, { maxSessions = 10 } = {}) {
  if (process.getuid?.() === 0 && !fs.existsSync('/run/sshd')) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-sshd-'));
  const user = os.userInfo().username;
  const identityFile = path.join(dir, 'id_ed25519');
  fs.writeFileSync(path.join(dir, 'authorized_keys'), `${keygen(identityFile)}\n`, { mode: 0o600 });
  const hosts = [];
  const children = [];
  const stop = () => {
    for (const c of children) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, address] of addresses.entries()) {
      const hdir = path.join(dir, `h${i + 1}`);
      fs.mkdirSync(path.join(hdir, 'work'), { recursive: true });
      const port = await freePort(address);
      const publicKey = keygen(path.join(hdir, 'host_key'));
      const config = path.join(hdir, 'sshd_config');
      fs.writeFileSync(
        config,
        [
          `Port ${port}`,
          `ListenAddress ${address}`,
          `HostKey ${path.join(hdir, 'host_key')}`,
          'PidFile none',
          `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          `MaxSessions ${maxSessions}`,
          'MaxStartups 200',
          'Subsystem sftp internal-sftp',
          'LogLevel INFO',
          'SetEnv SHLVL=1',
          '',
        ].join('\n'),
      );
      const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      await new Promise((resolve, reject) => {
        let log = '';
        const timer = setTimeout(() => reject(new Error(`sshd on ${address} did not start:\n${log}`)), 10_000);
        child.stderr.on('data', (chunk) => {
          log += chunk;
          if (log.includes('Server listening on')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`sshd on ${address} exited with ${code}:\n${log}`)));
      });
      child.stderr.resume();
      hosts.push({ address, port, publicKey, workdir: path.join(hdir, 'work') });
    }
  } catch (error) {
    stop();
    throw error;
  }
  const knownHostsFile = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHostsFile, hosts.map((h) => `[${h.address}]:${h.port} ${h.publicKey}\n`).join(''));
  return { dir, user, identityFile, knownHostsFile, hosts, stop };
}

/**
 * hosts.yaml's `hosts:` list for the hosts of a fleet from startSshd: host i is `h<i+1>` of
 * power `powerOf(i)`, with `extraLines` (e.g. labels) added to each.
 */
export function sshHostsYaml(fleet, powerOf, extraLines = []) {
  const hosts = fleet.hosts.map((h, i) =>
    [
      `  - name: h${i + 1}`,
      '    transport: ssh',
      `    address: ${h.address}`,
      `    port: ${h.port}`,
      `    user: ${fleet.user}`,
      `    identityFile: ${fleet.identityFile}`,
      `    knownHostsFile: ${fleet.knownHostsFile}`,
      `    workdir: ${h.workdir}`,
      `    power: ${powerOf(i)}`,
      ...extraLines,
    ].join('\n'),
  );
  return `hosts:\n${hosts.join('\n')}\n`;
}
