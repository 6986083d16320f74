/**
 * Host key verification against an OpenSSH known_hosts file: plain and hashed
 * (`|1|salt|hash`) host names, `[host]:port` for ports other than 22, patterns
 * with `*`, `?` and `!`, `@revoked` keys. `@cert-authority` lines are ignored
 * (certificates are not supported). Never accepts a key it has not found.
 */
import { createHash, createHmac } from 'node:crypto';

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number. */
  readonly line: number;
  readonly marker?: 'revoked';
  /** The host field as written (comma-separated patterns or one hashed name). */
  readonly hosts: string;
  /** Key type, e.g. `ssh-ed25519`. */
  readonly type: string;
  /** Base64 key blob. */
  readonly key: string;
}

export type HostKeyVerdict =
  | { readonly kind: 'match'; readonly entry: KnownHostEntry }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'changed'; readonly entry: KnownHostEntry }
  | { readonly kind: 'revoked'; readonly entry: KnownHostEntry };

/** Parses known_hosts text; lines that are not key lines (comments, blanks, certificates, garbage) are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: 'revoked' | undefined;
    if (fields[0].startsWith('@')) {
      if (fields[0] !== '@revoked') return;
      marker = 'revoked';
      fields.shift();
    }
    const [hosts, type, key] = fields;
    if (hosts === undefined || type === undefined || key === undefined) return;
    entries.push({ line: i + 1, ...(marker !== undefined ? { marker } : {}), hosts, type, key });
  });
  return entries;
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether one entry's host field names `name` (already in `knownHostName` form). */
export function entryMatchesHost(hostsField: string, name: string): boolean {
  if (hostsField.startsWith('|1|')) {
    const [, , salt, hash] = hostsField.split('|');
    if (salt === undefined || hash === undefined) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of hostsField.split(',')) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    if (!globMatch(body.toLowerCase(), name.toLowerCase())) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(text);
}

/** Entries naming this host (revoked ones included), in file order. */
export function entriesForHost(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = knownHostName(host, port);
  return entries.filter((e) => entryMatchesHost(e.hosts, name));
}

/**
 * The verdict on a key offered by `host:port`: `match` when an entry for the host has
 * exactly this key, `revoked` when the key is marked revoked, `changed` when the host
 * has an entry of the same key type with another key, else `unknown`.
 */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, offered: { type: string; key: string }): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.type === offered.type && e.key === offered.key);
  if (revoked !== undefined) return { kind: 'revoked', entry: revoked };
  const mine = entriesForHost(entries, host, port).filter((e) => e.marker === undefined);
  const exact = mine.find((e) => e.type === offered.type && e.key === offered.key);
  if (exact !== undefined) return { kind: 'match', entry: exact };
  const sameType = mine.find((e) => e.type === offered.type);
  if (sameType !== undefined) return { kind: 'changed', entry: sameType };
  return { kind: 'unknown' };
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64. */
export function keyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The host-key algorithms to offer for a host that has entries of these key types,
 * so that the server presents a key we can compare (OpenSSH orders them the same way).
 */
export function hostKeyAlgorithms(types: readonly string[]): string[] {
  const out: string[] = [];
  for (const type of types) {
    if (type === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(type);
  }
  return [...new Set(out)];
}

/** The message of a refused host key, with the commands that fix it. */
export function describeRefusal(verdict: Exclude<HostKeyVerdict, { kind: 'match' }>, context: { host: string; port: number; file: string; offered: Buffer }): string {
  const { host, port, file } = context;
  const name = knownHostName(host, port);
  const fingerprint = keyFingerprint(context.offered);
  const type = keyTypeOfBlob(context.offered);
  const scan = `ssh-keyscan -p ${port} ${host} >> ${file}`;
  switch (verdict.kind) {
    case 'unknown':
      return `host key of ${name} is not in ${file} (offered ${type} ${fingerprint}); if that is the right machine, add its key: ${scan}`;
    case 'changed':
      return `host key of ${name} has CHANGED: it offered ${type} ${fingerprint}, ${file}:${verdict.entry.line} has another ${verdict.entry.type} key; if the change is expected (host reinstalled), remove the old key with \`ssh-keygen -R '${name}' -f ${file}\` and add the new one: ${scan}`;
    case 'revoked':
      return `host key of ${name} (${type} ${fingerprint}) is marked @revoked in ${file}:${verdict.entry.line}; the host is refused`;
  }
}
