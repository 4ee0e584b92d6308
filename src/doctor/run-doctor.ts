import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { Ports } from '../sync/ports.js';
import { checkCloudflare } from './check-cloudflare.js';
import { checkConnectors } from './check-connectors.js';
import { checkProxmox } from './check-proxmox.js';
import { check, type DoctorCheck, type DoctorReport } from './types.js';

/**
 * `proxflare doctor`: the checks a first-time user needs, in the order problems block each
 * other (inventory → Proxmox → Cloudflare → each connector). Reads only: nothing is created,
 * changed or started. A check that cannot run because an earlier one failed is `skip`.
 */
export async function runDoctor(inventory: Inventory, ports: Ports, reporter: Reporter): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [
    check(
      'inventory',
      `inventory ${inventory.file}`,
      'ok',
      `valid (${inventory.connectors.length} connector${inventory.connectors.length === 1 ? '' : 's'}, ${inventory.guests.length} guests)`,
    ),
  ];
  for (const w of inventory.warnings ?? []) checks.push(check('inventory.warning', 'inventory', 'warn', w, 'see the message'));
  reporter.step('doctor', 'checking Proxmox');
  checks.push(...(await checkProxmox(inventory, reporter)));
  reporter.step('doctor', 'checking Cloudflare');
  checks.push(...(await checkCloudflare(inventory, ports, reporter)));
  reporter.step('doctor', 'checking the connectors');
  checks.push(...(await checkConnectors(inventory, ports)));
  reporter.done('doctor');
  return report(checks);
}

export function report(checks: DoctorCheck[]): DoctorReport {
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

const MARK: Record<DoctorCheck['status'], string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

/** One line per check, its fix under it. Pure. */
export function renderDoctor(r: DoctorReport, options: { color: boolean }): string {
  const colour: Record<DoctorCheck['status'], number> = { ok: 32, warn: 33, fail: 31, skip: 2 };
  const paint = (s: DoctorCheck['status'], t: string) => (options.color ? `\u001b[${colour[s]}m${t}\u001b[0m` : t);
  const lines: string[] = [];
  for (const c of r.checks) {
    lines.push(`${paint(c.status, MARK[c.status])} ${c.title}: ${c.detail}`);
    if (c.fix) lines.push(`    fix: ${c.fix}`);
  }
  const count = (s: DoctorCheck['status']) => r.checks.filter((c) => c.status === s).length;
  lines.push(
    '',
    r.ok
      ? `All checks passed (${count('ok')} ok, ${count('warn')} warnings, ${count('skip')} skipped).`
      : `${count('fail')} check(s) failed, ${count('warn')} warning(s): fix them and run \`proxflare doctor\` again.`,
  );
  return `${lines.join('\n')}\n`;
}
