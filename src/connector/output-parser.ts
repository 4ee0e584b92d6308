/**
 * Parsers for the tagged output of remote-scripts.ts. Only lines starting with `@@`
 * count; a missing `@@done` means the read was cut short, which is an error and
 * never "empty" (DESIGN.md safety rules).
 */
import { isStagingOf } from '../core/staging-names.js';
import type { ConnectorState, ProbeResult, ProbeTarget, RemoteFileState, SecretFileState } from '../ports/connector.js';
import { STATE_HEADER } from './remote-scripts.js';

export class OutputFormatError extends Error {}

export interface TaggedLine {
  tag: string;
  rest: string;
}

export function taggedLines(stdout: string): TaggedLine[] {
  const lines: TaggedLine[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.startsWith('@@')) continue;
    const space = line.indexOf(' ');
    lines.push(space === -1 ? { tag: line.slice(2), rest: '' } : { tag: line.slice(2, space), rest: line.slice(space + 1) });
  }
  return lines;
}

/** Host output lines (`@@out`) joined, for error messages. */
export function hostOutput(stdout: string): string {
  return taggedLines(stdout)
    .filter((l) => l.tag === 'out')
    .map((l) => l.rest)
    .join('\n')
    .trim();
}

/** Errors the script reported itself (`@@error ...`). */
export function scriptErrors(stdout: string): string[] {
  return taggedLines(stdout)
    .filter((l) => l.tag === 'error')
    .map((l) => l.rest);
}

export function hasTag(stdout: string, tag: string): boolean {
  return taggedLines(stdout).some((l) => l.tag === tag);
}

export function tagValue(stdout: string, tag: string): string | undefined {
  return taggedLines(stdout).find((l) => l.tag === tag)?.rest;
}

/** "cloudflared version 2026.8.2 (built 2026-08-20-1200 UTC)" → "2026.8.2". */
export function parseCloudflaredVersion(text: string): string | undefined {
  const m = /\bversion\s+v?(\d+(?:\.\d+)+(?:[-+~][0-9A-Za-z.+~-]*)?)/i.exec(text);
  return m?.[1];
}

/** Version from a script's `@@version` / `@@version-absent` lines; throws when the script said nothing. */
export function versionFromOutput(stdout: string): string | undefined {
  const lines = taggedLines(stdout);
  if (lines.some((l) => l.tag === 'version-absent')) return undefined;
  const v = lines.find((l) => l.tag === 'version');
  if (!v) throw new OutputFormatError('no cloudflared version line in the output');
  const parsed = parseCloudflaredVersion(v.rest);
  if (!parsed) throw new OutputFormatError(`cannot read a version from \`cloudflared --version\`: ${v.rest.slice(0, 200)}`);
  return parsed;
}

const ENABLED = new Set(['enabled', 'enabled-runtime']);

/** The readState script's output → ConnectorState. `paths` and `secretPaths` are the ones asked for. */
export function parseStateOutput(stdout: string, paths: string[], secretPaths: string[] = []): ConnectorState {
  const lines = taggedLines(stdout);
  if (lines[0] === undefined || `@@${lines[0].tag} ${lines[0].rest}` !== STATE_HEADER) {
    throw new OutputFormatError('the state script did not start (no header line)');
  }
  if (lines.at(-1)?.tag !== 'done') {
    throw new OutputFormatError('the state output was cut short (no end marker)');
  }
  const files = new Map<string, RemoteFileState>();
  const secretFiles = new Map<string, SecretFileState>();
  const staging: string[] = [];
  const seen = new Set<string>();
  let enabled: string | undefined;
  let active: string | undefined;
  let clock: number | undefined;
  let systemdVersion: number | undefined;
  for (let i = 1; i < lines.length - 1; i++) {
    const line = lines[i]!;
    switch (line.tag) {
      case 'version':
      case 'version-absent':
        break;
      case 'absent':
        seen.add(line.rest);
        break;
      case 'notfile':
        throw new OutputFormatError(`${line.rest} exists on the host but is not a regular file`);
      case 'unreadable':
        throw new OutputFormatError(`${line.rest} exists on the host but cannot be read by the SSH user`);
      case 'file': {
        const path = line.rest;
        const meta = lines[i + 1];
        const end = lines[i + 2];
        if (meta?.tag !== 'meta' || end?.tag !== 'end') {
          throw new OutputFormatError(`malformed file record for ${path}`);
        }
        // The base64 line is not tagged, so it is read from the raw text between meta and end.
        const content = fileContent(stdout, path);
        const [modeText, owner] = meta.rest.split(' ');
        const mode = Number.parseInt(modeText ?? '', 8);
        if (!Number.isFinite(mode) || owner === undefined) {
          throw new OutputFormatError(`malformed mode/owner for ${path}: ${meta.rest}`);
        }
        files.set(path, { content, mode, owner });
        seen.add(path);
        i += 2;
        break;
      }
      case 'secret': {
        const path = line.rest;
        const [meta, sha, id, end] = [lines[i + 1], lines[i + 2], lines[i + 3], lines[i + 4]];
        if (
          meta?.tag !== 'meta' ||
          sha?.tag !== 'sha256' ||
          id?.tag !== 'tunnel-id' ||
          end?.tag !== 'end' ||
          !/^[0-9a-f]{64}$/.test(sha.rest)
        ) {
          throw new OutputFormatError(`malformed digest record for ${path}`);
        }
        const [modeText, owner] = meta.rest.split(' ');
        const mode = Number.parseInt(modeText ?? '', 8);
        if (!Number.isFinite(mode) || owner === undefined) throw new OutputFormatError(`malformed mode/owner for ${path}: ${meta.rest}`);
        secretFiles.set(path, { sha256: sha.rest, mode, owner, tunnelId: id.rest.trim() || undefined });
        seen.add(path);
        i += 4;
        break;
      }
      case 'staging':
        // Only our own names beside a path we asked for (the glob is wider than the pattern).
        if (isStagingOf(line.rest, [...paths, ...secretPaths])) staging.push(line.rest);
        break;
      case 'enabled':
        enabled = line.rest;
        break;
      case 'active':
        active = line.rest;
        break;
      case 'clock':
        clock = /^\d+$/.test(line.rest.trim()) ? Number(line.rest.trim()) : undefined;
        break;
      case 'systemd': {
        // `systemctl --version`'s first line: "systemd 252 (252.36-1~deb12u1)".
        const m = /^systemd (\d+)\b/.exec(line.rest.trim());
        systemdVersion = m ? Number(m[1]) : undefined;
        break;
      }
      default:
        break;
    }
  }
  const missing = [...paths, ...secretPaths].filter((p) => !seen.has(p));
  if (missing.length > 0) throw new OutputFormatError(`no record for ${missing.join(', ')}`);
  if (enabled === undefined || active === undefined) throw new OutputFormatError('no unit state in the output');
  return {
    cloudflaredVersion: versionFromOutput(stdout),
    files,
    secretFiles,
    staging: staging.sort(),
    unit: { enabled: ENABLED.has(enabled), active: active === 'active' },
    ...(clock !== undefined ? { clock } : {}),
    ...(systemdVersion !== undefined ? { systemdVersion } : {}),
  };
}

function fileContent(stdout: string, path: string): string {
  const lines = stdout.split('\n').map((l) => l.replace(/\r$/, ''));
  const start = lines.indexOf(`@@file ${path}`);
  // Layout: @@file, @@meta, <base64>, @@end
  const data = lines[start + 2];
  if (start === -1 || data === undefined || lines[start + 3] !== '@@end') {
    throw new OutputFormatError(`malformed content for ${path}`);
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw new OutputFormatError(`content of ${path} is not base64`);
  return Buffer.from(data, 'base64').toString('utf8');
}

export function parseProbeOutput(stdout: string, targets: ProbeTarget[]): ProbeResult[] {
  if (!hasTag(stdout, 'done')) throw new OutputFormatError('the probe output was cut short (no end marker)');
  const byIndex = new Map<number, ProbeResult>();
  for (const line of taggedLines(stdout)) {
    if (line.tag !== 'probe') continue;
    const m = /^(\d+) (ok|fail|skip)(?: (.*))?$/.exec(line.rest);
    if (!m) continue;
    const target = targets[Number(m[1])];
    if (!target) continue;
    byIndex.set(Number(m[1]), { url: target.url, ok: m[2] !== 'fail', detail: (m[3] ?? '').trim() });
  }
  return targets.map((t, i) => byIndex.get(i) ?? { url: t.url, ok: false, detail: 'no result from the connector' });
}
