import type { PublicCheck } from './public-check.js';
import type { ReplicaStatus, Status } from './read-status.js';

/** A table for humans. Pure. */
export function renderStatus(status: Status, options: { color: boolean }): string {
  const paint = (ok: boolean | undefined, t: string) => (options.color ? `\u001b[${ok === undefined ? 2 : ok ? 32 : 31}m${t}\u001b[0m` : t);
  const t = status.tunnel;
  const c = status.connector;
  const lines = [
    `tunnel/${t.name}: ${paint(t.status === 'healthy', t.status)}, ${t.connections} connection${t.connections === 1 ? '' : 's'}${t.id ? ` (id ${t.id})` : ''}`,
    ...t.connectors.map(
      (k) =>
        `  connector ${k.id}: cloudflared ${k.version}, ${paint(k.connections > 0, `${k.connections} connection${k.connections === 1 ? '' : 's'}`)}${k.colos.length > 0 ? ` (${k.colos.join(', ')})` : ''}${k.runAt ? `, running since ${k.runAt}` : ''}`,
    ),
    ...(status.replicas.length > 1
      ? status.replicas.map((r) => {
          const serving = r.service === 'active' && r.ready === 200 && r.seenByCloudflare;
          const ready = r.ready === undefined ? 'no answer' : `${r.ready}, ${r.readyConnections} ready connections`;
          const seen = r.connectorId
            ? `; connector ${r.connectorId} ${r.seenByCloudflare ? 'seen by Cloudflare' : 'NOT seen by Cloudflare'}`
            : '';
          const role = r.standby ? ' (standby)' : '';
          return `${r.address}${role}: ${paint(r.state === 'running', r.state)}${r.ip ? ` at ${r.ip}` : ''}; cloudflared.service ${paint(r.standby ? r.service !== 'active' : r.service === 'active', r.service)}; /ready ${paint(r.standby ? undefined : serving, ready)}${seen}${configText(r, paint)}`;
        })
      : [
          `${c.address}: ${paint(c.state === 'running', c.state)}${c.ip ? ` at ${c.ip}` : ''}; cloudflared.service ${paint(c.service === 'active', c.service)}${status.replicas[0] ? configText(status.replicas[0], paint) : ''}`,
        ]),
    overallText(status, paint),
    '',
  ];
  const rows = status.routes.map((r) => [
    (r.hostname || '(any hostname)') + (r.path ? ` ${r.path}` : ''),
    r.dns,
    r.service,
    r.reachable === undefined ? '-' : r.reachable ? 'up' : 'DOWN',
    r.detail,
    r.exposure,
  ]);
  const header = ['HOSTNAME', 'DNS', 'ORIGIN', 'ORIGIN CHECK', 'DETAIL', 'ACCESS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header));
  for (const [i, row] of rows.entries()) {
    const r = status.routes[i]!;
    const healthy = (r.dns === 'ok' || r.dns === 'none') && r.reachable !== false;
    lines.push(paint(healthy, fmt(row)));
  }
  lines.push('');
  const healthy = status.routes.filter((r) => (r.dns === 'ok' || r.dns === 'none') && r.reachable !== false).length;
  lines.push(
    `${healthy}/${status.routes.length} routes healthy.${status.pendingChanges > 0 ? ` ${status.pendingChanges} pending change(s): run \`proxflare sync --dry-run\`.` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

function configText(r: ReplicaStatus, paint: (ok: boolean | undefined, t: string) => string): string {
  const parts = [
    ...(r.version ? [`cloudflared ${r.version}`] : []),
    ...(r.configVersion !== undefined ? [`config version ${r.configVersion}`] : []),
    ...(r.servesCurrentConfig === undefined
      ? []
      : [
          paint(
            r.servesCurrentConfig,
            r.servesCurrentConfig ? 'serves the current config' : `STALE config (${r.configDetail ?? 'differs'})`,
          ),
        ]),
  ];
  return parts.length > 0 ? `; ${parts.join(', ')}` : '';
}

function overallText(status: Status, paint: (ok: boolean | undefined, t: string) => string): string {
  const o = status.overall;
  if (o.state === 'healthy') return `connectors: ${paint(true, 'healthy')}`;
  return `connectors: ${paint(false, o.state)} (${o.unhealthy.join(', ')} not healthy)`;
}

/** `status --public`: one line per hostname, the status code a visitor gets. Pure. */
export function renderPublicChecks(checks: PublicCheck[], options: { color: boolean }): string {
  const paint = (ok: boolean, t: string) => (options.color ? `\u001b[${ok ? 32 : 31}m${t}\u001b[0m` : t);
  const rows = checks.map((c) => [c.hostname, c.status === undefined ? '-' : String(c.status), c.ok ? 'ok' : 'FAIL', c.detail]);
  const header = ['PUBLIC URL', 'HTTP', 'CHECK', 'DETAIL'];
  const cells = [header, ...rows.map((r, i) => [checks[i]!.url, ...r.slice(1)])];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const lines = ['', fmt(header), ...cells.slice(1).map((r, i) => paint(checks[i]!.ok, fmt(r)))];
  const good = checks.filter((c) => c.ok).length;
  lines.push('', `${good}/${checks.length} public checks ok (a protected hostname is ok when it redirects to the Access login).`);
  return `${lines.join('\n')}\n`;
}

export function renderStatusJson(status: Status): unknown {
  return status;
}
