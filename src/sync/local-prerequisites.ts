/**
 * Everything local a sync needs, checked before the first write: the SSH key pair and the
 * known_hosts file. Without this, a missing key or a known_hosts path that is a directory
 * surfaced only after the LXC had been created and started (EISDIR/ENOENT mid-apply).
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Inventory } from '../inventory/types.js';
import type { Plan } from '../plan/types.js';

export interface LocalProblem {
  field: string;
  message: string;
  hint: string;
}

/** The problems of the key and known_hosts files; `creating` adds the public key the LXC gets at creation. */
export async function findLocalProblems(
  inventory: Inventory,
  options: { creatingConnector: boolean; parseKeys?: boolean },
): Promise<LocalProblem[]> {
  const ssh = inventory.connector.ssh;
  const problems: LocalProblem[] = [];
  // ssh2 is loaded only to parse the keys (validate stays light and skips it).
  const parse = options.parseKeys === false ? undefined : (await import('ssh2')).default.utils.parseKey;
  const privateProblem = await checkPrivateKey(ssh.privateKey, parse);
  if (privateProblem) problems.push({ field: 'connector.ssh.privateKey', ...privateProblem });
  if (options.creatingConnector) {
    const publicProblem = await checkPublicKey(ssh.publicKey, parse);
    if (publicProblem) problems.push({ field: 'connector.ssh.publicKey', ...publicProblem });
  }
  const knownHostsProblem = await checkKnownHosts(ssh.knownHosts, ssh.trustOnFirstUse);
  if (knownHostsProblem) problems.push({ field: 'connector.ssh.knownHosts', ...knownHostsProblem });
  return problems;
}

/**
 * Throws a UserError naming each field, where it is set and how to fix it. Without a plan
 * (before reading anything) the files every sync needs; with one, also what it will create.
 */
export async function assertLocalPrerequisites(inventory: Inventory, plan?: Plan): Promise<void> {
  const creatingConnector = plan ? plan.changes.some((c) => c.kind === 'lxc' && c.action === 'create') : false;
  const problems = await findLocalProblems(inventory, { creatingConnector });
  if (problems.length === 0) return;
  throw new UserError(
    `${problems.length} local problem${problems.length === 1 ? '' : 's'} would stop the sync part-way; nothing was changed:\n` +
      problems.map((p) => `  ${formatLocalProblem(inventory, p)}`).join('\n'),
  );
}

export function formatLocalProblem(inventory: Inventory, p: LocalProblem): string {
  return `${inventory.positions.locate(p.field)} ${p.field}: ${p.message} (${p.hint})`;
}

type Problem = { message: string; hint: string } | undefined;

async function readable(path: string, what: string, fix: string): Promise<{ text: string } | { message: string; hint: string }> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return { message: `${path} is a directory, not ${what}`, hint: fix };
    return { text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { message: `${path} does not exist`, hint: fix };
    if (code === 'ENOTDIR') return { message: `a part of ${path} is a file, not a directory`, hint: fix };
    if (code === 'ELOOP') return { message: `${path} is a symbolic link loop`, hint: fix };
    if (code === 'EACCES' || code === 'EPERM')
      return {
        message: `${path} cannot be read (permission denied)`,
        hint: 'make it readable by the user running proxflare (chmod 600, owned by you)',
      };
    return { message: `${path} cannot be read (${code ?? (err as Error).message})`, hint: fix };
  }
}

type ParseKey = (typeof import('ssh2'))['utils']['parseKey'];

async function checkPrivateKey(path: string, parseKey: ParseKey | undefined): Promise<Problem> {
  const fix = 'point it at an OpenSSH private key, or create one with `ssh-keygen -t ed25519`';
  const read = await readable(path, 'a key file', fix);
  if (!('text' in read)) return read;
  if (!parseKey) return undefined;
  const parsed = parseKey(read.text);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    return encrypted
      ? {
          message: `${path} is protected by a passphrase, which proxflare cannot ask for`,
          hint: 'use a key without a passphrase for the connector (`ssh-keygen -t ed25519 -N "" -f ~/.ssh/proxflare`)',
        }
      : { message: `${path} is not a private key ssh can use (${parsed.message})`, hint: fix };
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key && !key.isPrivateKey())
    return { message: `${path} holds a public key, not a private one`, hint: 'give the private key (the file without .pub)' };
  return undefined;
}

async function checkPublicKey(path: string, parseKey: ParseKey | undefined): Promise<Problem> {
  const fix = `it is put into the new connector LXC so proxflare can log in; create it with \`ssh-keygen -y -f <privateKey> > ${path}\`, or set connector.ssh.publicKey`;
  const read = await readable(path, 'a public key file', fix);
  if (!('text' in read)) return { message: `${read.message}; it is needed to create the connector`, hint: read.hint };
  if (!parseKey) return undefined;
  const parsed = parseKey(read.text);
  if (parsed instanceof Error) return { message: `${path} is not an OpenSSH public key (${parsed.message})`, hint: fix };
  return undefined;
}

async function checkKnownHosts(path: string, trustOnFirstUse: boolean): Promise<Problem> {
  const fix = 'point connector.ssh.knownHosts at a file (it is created if missing), e.g. ~/.config/proxflare/known_hosts';
  try {
    const info = await stat(path);
    if (info.isDirectory()) return { message: `${path} is a directory, not a known_hosts file`, hint: fix };
    await access(path, constants.R_OK);
    if (trustOnFirstUse) {
      try {
        await access(path, constants.W_OK);
      } catch {
        return {
          message: `${path} is not writable, so trustOnFirstUse cannot record the connector's host key`,
          hint: 'make it writable, or add the host key yourself and set trustOnFirstUse: false',
        };
      }
    }
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return { message: `a part of ${path} is a file, not a directory`, hint: fix };
    if (code === 'ELOOP') return { message: `${path} is a symbolic link loop`, hint: fix };
    if (code === 'EACCES' || code === 'EPERM')
      return { message: `${path} cannot be read (permission denied)`, hint: 'make it readable by the user running proxflare' };
    if (code !== 'ENOENT') return { message: `${path} cannot be used (${code ?? (err as Error).message})`, hint: fix };
  }
  // Missing: fine when it can be created (it is, with the first host key).
  if (!trustOnFirstUse) return undefined;
  const parent = await nearestExisting(dirname(path));
  if (!parent.ok) return { message: `${path} cannot be created: ${parent.why}`, hint: fix };
  try {
    await access(parent.dir, constants.W_OK | constants.X_OK);
  } catch {
    return {
      message: `${path} cannot be created: ${parent.dir} is not writable`,
      hint: 'choose a known_hosts path in a directory you can write to',
    };
  }
  return undefined;
}

/** The deepest existing ancestor (directories are created up to the file); a file in the way is a problem. */
async function nearestExisting(dir: string): Promise<{ ok: true; dir: string } | { ok: false; why: string }> {
  for (let current = dir; ; current = dirname(current)) {
    try {
      const info = await stat(current);
      return info.isDirectory() ? { ok: true, dir: current } : { ok: false, why: `${current} is a file, not a directory` };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') continue;
      if (code !== 'ENOENT') return { ok: false, why: `${current}: ${code ?? (err as Error).message}` };
      if (dirname(current) === current) return { ok: false, why: 'no directory of its path exists' };
    }
  }
}
