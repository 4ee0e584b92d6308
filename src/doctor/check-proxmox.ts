import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import { readProxmoxAccess } from '../proxmox/access-check.js';
import { hasPrivilege, neededPrivileges } from './proxmox-privileges.js';
import { check, type DoctorCheck, fromError } from './types.js';

const GUIDE = 'docs/proxmox.md "Minimal role"';

/** Proxmox reachable with the pinned certificate, the token accepted, its privileges, the nodes the inventory names. */
export async function checkProxmox(inventory: Inventory, reporter: Reporter): Promise<DoctorCheck[]> {
  const p = inventory.proxmox;
  let access;
  try {
    access = await readProxmoxAccess(p, reporter);
  } catch (err) {
    return [
      fromError(
        'proxmox.api',
        `Proxmox API at ${p.url}`,
        err,
        `check proxmox.url, proxmox.fingerprint (\`pvenode cert info\` on the node) and the token (${GUIDE})`,
      ),
      check('proxmox.privileges', 'Proxmox token privileges', 'skip', 'the API did not answer'),
      check('proxmox.nodes', 'Proxmox nodes', 'skip', 'the API did not answer'),
    ];
  }
  const checks: DoctorCheck[] = [];
  const tls = p.insecure
    ? 'TLS verification OFF (proxmox.insecure)'
    : p.fingerprint
      ? 'certificate matches proxmox.fingerprint'
      : 'certificate trusted by the system CAs';
  checks.push(
    check(
      'proxmox.api',
      `Proxmox API at ${p.url}`,
      p.insecure ? 'warn' : 'ok',
      `Proxmox VE ${access.release}, token ${p.tokenId} accepted, ${tls}`,
      'pin the certificate instead: set proxmox.fingerprint to the SHA-256 of `pvenode cert info` and remove proxmox.insecure',
    ),
  );

  const needed = neededPrivileges(inventory, access.release);
  const missing = needed.filter((n) => !hasPrivilege(access.privileges, n.privilege, n.path));
  const required = missing.filter((n) => !n.optional);
  const optional = missing.filter((n) => n.optional);
  const list = (xs: typeof missing) => xs.map((n) => `${n.privilege} on ${n.path} (${n.for})`).join('; ');
  const names = [...new Set(required.map((n) => n.privilege))].join(',');
  if (required.length > 0) {
    checks.push(
      check(
        'proxmox.privileges',
        'Proxmox token privileges',
        'fail',
        `token ${p.tokenId} on Proxmox VE ${access.release} lacks ${list(required)}`,
        `pveum role modify ProxflareLXC --append 1 --privs "${names}", then \`pveum acl modify / --tokens '${p.tokenId}' --roles ProxflareLXC\` (and the same for the user with privilege separation); ${GUIDE}`,
      ),
    );
  } else if (optional.length > 0) {
    checks.push(
      check(
        'proxmox.privileges',
        'Proxmox token privileges',
        'warn',
        `all required privileges present; optional: no ${list(optional)}`,
        `pveum acl modify / --tokens '${p.tokenId}' --roles PVEAuditor`,
      ),
    );
  } else {
    checks.push(
      check(
        'proxmox.privileges',
        'Proxmox token privileges',
        'ok',
        `all ${needed.length} privileges present (Proxmox VE ${access.release} names)`,
      ),
    );
  }

  const known = new Map(access.nodes.map((n) => [n.name, n.online]));
  const problems: string[] = [];
  for (const c of inventory.connectors) {
    const field = `${c.field ?? 'connector'}.node`;
    if (!known.has(c.node)) problems.push(`${inventory.positions.locate(field)} ${field}: node "${c.node}" is not part of this cluster`);
    else if (!known.get(c.node)) problems.push(`${field}: node ${c.node} is offline`);
  }
  checks.push(
    problems.length > 0
      ? check(
          'proxmox.nodes',
          'Proxmox nodes',
          'fail',
          problems.join('; '),
          `use one of the cluster's nodes (${[...known.keys()].join(', ')}), or bring the node back online`,
        )
      : check(
          'proxmox.nodes',
          'Proxmox nodes',
          'ok',
          `${[...known.keys()].join(', ')} (${inventory.connectors.map((c) => `${c.hostname} on ${c.node}`).join(', ')})`,
        ),
  );
  return checks;
}
