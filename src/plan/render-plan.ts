import { structuredPatch } from 'diff';
import { renderAccessBody, renderExposure, showAudPlaceholders } from './render-access.js';
import type { Action, Change, DnsChange, LxcChange, LxcView, Plan } from './types.js';
import { TUNNEL_ID_PLACEHOLDER, UNKNOWN, hasChanges, summarize } from './types.js';

/** Terraform-style symbols (internal/plans/action.go). */
const SYMBOL: Record<Action, string> = { create: '+', update: '~', delete: '-', noop: ' ' };
const VERB: Record<Action, string> = {
  create: 'will be created',
  update: 'will be updated in place',
  delete: 'will be destroyed',
  noop: 'is up to date',
};

export interface RenderOptions {
  color: boolean;
  /** Also list resources that need no change. */
  showNoop?: boolean;
}

type Paint = (code: number, text: string) => string;

/** The human plan: one block per change, unified diffs for files, a closing summary line. Pure. */
export function renderPlan(plan: Plan, options: RenderOptions): string {
  const paint: Paint = options.color ? (code, text) => `\u001b[${code}m${text}\u001b[0m` : (_c, t) => t;
  const out: string[] = [];
  const shown = plan.changes.filter((c) => c.action !== 'noop' || options.showNoop);

  if (shown.length > 0) {
    out.push('proxflare will perform the following actions:', '');
    for (const change of shown) out.push(...renderChange(change, paint), '');
  }
  if (plan.origins.length > 0) {
    out.push('Routes (ingress order):');
    for (const o of plan.origins) {
      const from = o.guest ? `  (${o.guest}${o.ipSource ? `, address from ${o.ipSource}` : ''})` : o.host ? `  (host ${o.host})` : '';
      out.push(`  ${o.hostname}${o.path ? ` path ${o.path}` : ''} → ${o.service}${from}`);
    }
    out.push('');
  }
  out.push(...renderExposure(plan.exposure, plan.accessRead ?? false, paint));
  for (const c of plan.conflicts) out.push(paint(31, `Conflict: ${c.address}: ${c.message}`), `  fix: ${c.hint}`);
  for (const w of plan.warnings) out.push(paint(33, `Warning: ${w}`));
  if (plan.conflicts.length > 0 || plan.warnings.length > 0) out.push('');

  if (!hasChanges(plan)) {
    out.push(paint(32, 'No changes. The homelab matches the inventory.'));
  } else {
    const s = summarize(plan);
    out.push(`Plan: ${s.add} to add, ${s.change} to change, ${s.destroy} to destroy.`);
  }
  return `${out.join('\n')}\n`;
}

function renderChange(change: Change, paint: Paint): string[] {
  const color = { create: 32, update: 33, delete: 31, noop: 2 }[change.action];
  const head = [
    paint(1, `  # ${change.address} ${VERB[change.action]}`) + (change.reason ? ` (${change.reason})` : ''),
    paint(color, `  ${SYMBOL[change.action]} ${change.address}`),
  ];
  return [...head, ...renderBody(change, paint).map((l) => `      ${l}`)];
}

function renderBody(change: Change, paint: Paint): string[] {
  switch (change.kind) {
    case 'lxc':
      return renderLxc(change);
    case 'tunnel': {
      const t = change.after ?? change.before;
      return t ? [`name: ${t.name}`, `id:   ${showId(t.id)}`] : [];
    }
    case 'connections':
      return [`tunnel: ${change.tunnelId}`, `connections: ${change.before.connections} → 0`];
    case 'credentials':
      if (!change.after) return ['content: (sensitive)', 'removed'];
      return [`tunnel: ${showId(change.after.tunnelId)}`, `content: (sensitive)`, `mode: 0600`];
    case 'package':
      return [
        `cloudflared: ${beforeOf(change.before, (b) => b.version)} → ${change.after.version ?? 'latest'} (from ${describeSource(change)})`,
      ];
    case 'file':
      return renderFile(change, paint);
    case 'staging-file':
      return ['content: (not read; may be sensitive)', 'removed'];
    case 'unit': {
      const lines: string[] = [];
      const b = change.before;
      if (change.action === 'delete') return ['stop (graceful) and disable'];
      if (b === 'unknown' || b === undefined || !b.enabled) lines.push(`enabled: ${beforeOf(b, (x) => String(x.enabled))} → true`);
      if (b === 'unknown' || b === undefined || !b.active) lines.push(`active:  ${beforeOf(b, (x) => String(x.active))} → true`);
      if (change.restart) lines.push(b !== 'unknown' && b?.active ? 'restart: yes' : 'start: yes');
      return lines;
    }
    case 'tunnel-config': {
      const line = (r: { hostname?: string; path?: string; service: string }) =>
        `${r.hostname ?? '*'}${r.path ? ` ${r.path}` : ''} → ${r.service}`;
      const before = new Set((change.before?.ingress ?? []).map(line));
      const after = change.after.ingress.map(line);
      return [
        `tunnel: ${change.tunnelId}${change.version !== undefined ? ` (version ${change.version})` : ''}`,
        ...after.map((l) => (before.has(l) ? `  ${l}` : `+ ${l}`)),
        ...[...before].filter((l) => !after.includes(l)).map((l) => `- ${l}`),
      ];
    }
    case 'leftover':
      return [...change.units.map((u) => `stop and disable ${u}`), ...change.paths.map((p) => `remove ${p}`)];
    case 'dns':
      return renderDns(change);
    case 'access-policy':
    case 'access-app':
    case 'service-token':
      return renderAccessBody(change);
  }
}

function describeSource(change: Extract<Change, { kind: 'package' }>): string {
  return change.source.type === 'deb' ? `local package ${change.source.path}` : 'the Cloudflare apt repository';
}

function beforeOf<T>(before: T | 'unknown' | undefined, pick: (b: T) => string): string {
  if (before === 'unknown') return UNKNOWN;
  if (before === undefined) return '(none)';
  return pick(before);
}

function showId(id: string): string {
  return id === TUNNEL_ID_PLACEHOLDER ? UNKNOWN : id;
}

const LXC_FIELDS: (keyof LxcView)[] = [
  'node',
  'vmid',
  'hostname',
  'template',
  'storage',
  'disk',
  'memory',
  'swap',
  'cores',
  'onboot',
  'net0',
  'tags',
];

function renderLxc(change: LxcChange): string[] {
  const fmt = (v: unknown): string => (Array.isArray(v) ? v.join(';') : String(v));
  const lines: string[] = [];
  if (change.after === undefined) {
    const b = change.before;
    return b
      ? [`node: ${b.node}`, `vmid: ${b.vmid}`, `hostname: ${b.hostname}`, `tags: ${b.tags.join(';')}`, 'stopped, then destroyed with purge']
      : [];
  }
  for (const field of LXC_FIELDS) {
    const after = fmt(change.after[field]);
    const before = change.before ? fmt(change.before[field]) : undefined;
    if (change.action === 'create' || before === undefined) lines.push(`${field}: ${after}`);
    else if (before !== after) lines.push(`${field}: ${before} → ${after}`);
  }
  if (change.downloadTemplate) lines.push(`template ${change.after.template} will be downloaded first`);
  if (change.start) lines.push('will be started');
  if (change.needsRestart.length > 0) lines.push(`takes effect after a container restart: ${change.needsRestart.join(', ')}`);
  if (change.appliedLive?.length)
    lines.push(`applied live to the running container: ${change.appliedLive.join(', ')} (its address is re-read and SSH reconnects)`);
  return lines;
}

function renderDns(change: DnsChange): string[] {
  const show = (r: { type: string; content: string; proxied: boolean; comment: string | null } | undefined) =>
    r ? `${r.type} ${showTarget(r.content)}${r.proxied ? ' (proxied)' : ' (DNS only)'}` : '(none)';
  const zone = `zone: ${change.zoneName}`;
  if (change.action === 'create') return [`${show(change.after)}`, zone];
  if (change.action === 'delete') return [`${show(change.before)}`, zone];
  if (change.action === 'noop') return [show(change.after)];
  const lines = [`${show(change.before)} → ${show(change.after)}`, zone];
  if (change.before?.comment !== change.after?.comment) {
    lines.push(`comment: ${JSON.stringify(change.before?.comment ?? null)} → ${JSON.stringify(change.after?.comment ?? null)}`);
  }
  return lines;
}

/** The tunnel id of a tunnel not created yet is shown as such, never as the placeholder value. */
function showTarget(content: string): string {
  return showAudPlaceholders(content.split(TUNNEL_ID_PLACEHOLDER).join('(tunnel id known after apply)'));
}

function renderFile(change: Extract<Change, { kind: 'file' }>, paint: Paint): string[] {
  if (change.after === undefined)
    return change.before && change.before !== 'unknown' ? [`mode: ${octal(change.before.mode)}`, 'removed'] : ['removed'];
  if (change.before === 'unknown') {
    return [`mode: ${octal(change.after.mode)}`, `content (current content ${UNKNOWN}):`, ...indentAll(change.after.content)];
  }
  const lines: string[] = [];
  const beforeContent = change.before?.content ?? '';
  if (change.before && change.before.mode !== change.after.mode) {
    lines.push(`mode: ${octal(change.before.mode)} → ${octal(change.after.mode)}`);
  } else if (!change.before) {
    lines.push(`mode: ${octal(change.after.mode)}`);
  }
  if (beforeContent !== change.after.content) {
    lines.push(...unifiedDiff(change.path, beforeContent, showTarget(change.after.content), paint));
  }
  return lines;
}

export function unifiedDiff(path: string, before: string, after: string, paint: Paint = (_c, t) => t): string[] {
  const patch = structuredPatch(path, path, before, after, '', '', { context: 3 });
  const lines = [`--- ${path} (current)`, `+++ ${path} (desired)`];
  for (const hunk of patch.hunks) {
    lines.push(paint(36, `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`));
    for (const l of hunk.lines) {
      if (l.startsWith('+')) lines.push(paint(32, l));
      else if (l.startsWith('-')) lines.push(paint(31, l));
      else lines.push(l);
    }
  }
  return lines;
}

function indentAll(text: string): string[] {
  return showTarget(text)
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `  ${l}`);
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}
