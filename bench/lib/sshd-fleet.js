// Real OpenSSH servers on loopback for benchmarks (plain JS: benchmarks run against dist/ and
// cannot import the tests' TypeScript helper test/helpers/sshd.ts, whose configuration this
// follows): each host is an `sshd -D -e` of its own on 127.0.0.x with a generated host key, a
// free port and a work directory; one client key is accepted by all of them.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SSHD = '/usr/sbin/sshd';
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];

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

function startSshd(config) {
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 10s:\n${log}`)), 10_000);
    child.stderr.on('data', (chunk) => {
      log += chunk.toString();
      if (log.includes('Server listening on')) {
        clearTimeout(timer);
        child.stderr.resume();
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code}:\n${log}`));
    });
  });
}

/** Starts `count` servers; resolves { dir, user, identityFile, knownHostsFile, hosts: [{ name, address, port, workdir }], stop() }. */
export async function startSshFleet(count) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buildfleet-bench-sshd-'));
  const user = os.userInfo().username;
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true });
  const identityFile = path.join(dir, 'id_ed25519');
  const clientKey = keygen(identityFile);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  fs.writeFileSync(authorizedKeys, `${clientKey}\n`, { mode: 0o600 });
  const knownHosts = [];
  const hosts = [];
  const children = [];
  try {
    for (let i = 0; i < count; i++) {
      const address = ADDRESSES[i];
      const port = await freePort(address);
      const hostDir = path.join(dir, `h${i + 1}`);
      const workdir = path.join(hostDir, 'work');
      fs.mkdirSync(workdir, { recursive: true });
      const hostKey = path.join(hostDir, 'ssh_host_ed25519_key');
      knownHosts.push(`[${address}]:${port} ${keygen(hostKey)}`);
      const config = path.join(hostDir, 'sshd_config');
      fs.writeFileSync(
        config,
        [
          `Port ${port}`,
          `ListenAddress ${address}`,
          `HostKey ${hostKey}`,
          'PidFile none',
          `AuthorizedKeysFile ${authorizedKeys}`,
          'PermitRootLogin prohibit-password',
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'MaxStartups 200',
          'Subsystem sftp internal-sftp',
          'SetEnv SHLVL=1',
          '',
        ].join('\n'),
      );
      children.push(await startSshd(config));
      hosts.push({ name: `h${i + 1}`, address, port, workdir });
    }
  } catch (error) {
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const knownHostsFile = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHostsFile, `${knownHosts.join('\n')}\n`);
  return {
    dir,
    user,
    identityFile,
    knownHostsFile,
    hosts,
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
