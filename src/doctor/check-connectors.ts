import type { ConnectorSpec, Inventory } from '../inventory/types.js';
import { MANAGED_PATHS } from '../plan/actual-state.js';
import type { ConnectorHost } from '../ports/connector.js';
import type { Ports } from '../sync/ports.js';
import { connectTarget } from '../sync/read-actual.js';
import { check, type DoctorCheck, fromError } from './types.js';

/** Skew beyond this warns (TLS and Access tokens tolerate little); beyond the second limit it fails. */
export const CLOCK_WARN_SECONDS = 5;
export const CLOCK_FAIL_SECONDS = 60;

/**
 * Each replica: its LXC in Proxmox, SSH with the pinned host key, cloudflared installed (and
 * which version), the unit active (a standby: stopped), `/ready` on its metrics server, and its
 * clock against this machine's (a container shares its node's kernel clock).
 */
export async function checkConnectors(inventory: Inventory, ports: Ports, now: () => number = () => Date.now()): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const [i, spec] of inventory.connectors.entries()) checks.push(...(await checkReplica(inventory, ports, spec, i === 0, now)));
  return checks;
}

async function checkReplica(
  inventory: Inventory,
  ports: Ports,
  spec: ConnectorSpec,
  first: boolean,
  now: () => number,
): Promise<DoctorCheck[]> {
  const id = `connector:${spec.hostname}`;
  const name = `lxc/${spec.hostname}`;
  const skipRest = (why: string) =>
    ['cloudflared', 'unit', 'ready', 'clock'].map((k) => check(`${id}.${k}`, `${name}: ${k === 'ready' ? '/ready' : k}`, 'skip', why));
  let address = spec.ssh.host;
  try {
    const state = await ports.proxmox.readState(spec, first ? inventory.guests : []);
    const lxc = state.connector;
    // Not created yet (an sshHost may already answer, but nothing of ours is there to check).
    if (!lxc)
      return [
        check(`${id}.ssh`, `${name}: SSH`, 'skip', 'the LXC does not exist yet: `proxflare sync` creates it'),
        ...skipRest('not created yet'),
      ];
    if (lxc && lxc.status !== 'running' && !address)
      return [
        check(
          `${id}.ssh`,
          `${name}: SSH`,
          'fail',
          `the LXC is ${lxc.status}`,
          `start it (\`pct start ${lxc.vmid}\` on ${lxc.node}) or run \`proxflare sync\``,
        ),
        ...skipRest('the LXC is not running'),
      ];
    address ??= lxc?.ip;
  } catch (err) {
    if (!address)
      return [fromError(`${id}.ssh`, `${name}: SSH`, err, 'fix the Proxmox checks above first'), ...skipRest('its address is unknown')];
  }
  if (!address)
    return [
      check(`${id}.ssh`, `${name}: SSH`, 'fail', 'the LXC has no IPv4 address yet', 'check its network (connector.network) or set sshHost'),
      ...skipRest('no address'),
    ];

  const target = connectTarget(inventory, address);
  let host: ConnectorHost;
  try {
    host = await ports.connect(target);
  } catch (err) {
    return [
      fromError(
        `${id}.ssh`,
        `${name}: SSH`,
        err,
        `check connector.ssh (user, key, knownHosts ${target.knownHosts}) and that sshd runs in the LXC`,
      ),
      ...skipRest('SSH failed'),
    ];
  }
  try {
    const checks = [
      check(`${id}.ssh`, `${name}: SSH`, 'ok', `${target.user}@${address}:${target.port}, host key pinned in ${target.knownHosts}`),
    ];
    const state = await host.readState([], MANAGED_PATHS.unit);
    checks.push(
      state.cloudflaredVersion
        ? check(`${id}.cloudflared`, `${name}: cloudflared`, 'ok', `cloudflared ${state.cloudflaredVersion} installed`)
        : check(
            `${id}.cloudflared`,
            `${name}: cloudflared`,
            'warn',
            'cloudflared is not installed',
            '`proxflare sync` installs it (connector.cloudflared)',
          ),
    );
    const wantActive = spec.standby !== true;
    const unitState = `${MANAGED_PATHS.unit} ${state.unit.active ? 'active' : 'inactive'}, ${state.unit.enabled ? 'enabled' : 'disabled'}`;
    checks.push(
      state.unit.active === wantActive
        ? check(`${id}.unit`, `${name}: unit`, 'ok', `${unitState}${wantActive ? '' : ' (standby)'}`)
        : check(
            `${id}.unit`,
            `${name}: unit`,
            wantActive ? 'fail' : 'warn',
            `${unitState}${wantActive ? '' : ', but this replica is a standby'}`,
            wantActive
              ? `\`journalctl -u ${MANAGED_PATHS.unit}\` on the connector says why; \`proxflare sync\` (re)starts it`
              : '`proxflare sync` stops it',
          ),
    );
    if (wantActive) {
      const ready = await host.readiness();
      checks.push(
        ready.status === 200
          ? check(
              `${id}.ready`,
              `${name}: /ready`,
              'ok',
              `200, ${ready.readyConnections} edge connections (connector ${ready.connectorId ?? 'unknown'})`,
            )
          : check(
              `${id}.ready`,
              `${name}: /ready`,
              'fail',
              ready.status === undefined ? 'nothing answers on the metrics address' : `HTTP ${ready.status}: no edge connection`,
              ready.status === undefined
                ? "cloudflared is not running with proxflare's config.yml (metrics: 127.0.0.1:20241): run `proxflare sync`"
                : 'the connector cannot reach Cloudflare: allow outbound TCP/UDP 7844 and DNS; `journalctl -u cloudflared` shows the errors',
            ),
      );
    } else {
      checks.push(check(`${id}.ready`, `${name}: /ready`, 'skip', 'standby: cloudflared is stopped'));
    }
    checks.push(clockCheck(id, name, state.clock, now()));
    return checks;
  } catch (err) {
    return [fromError(`${id}.cloudflared`, `${name}: state`, err, 'the connector needs a POSIX sh, coreutils and systemd')];
  } finally {
    await host.close().catch(() => undefined);
  }
}

export function clockCheck(id: string, name: string, remoteSeconds: number | undefined, nowMs: number): DoctorCheck {
  if (remoteSeconds === undefined) return check(`${id}.clock`, `${name}: clock`, 'skip', 'the connector did not report its time');
  const skew = remoteSeconds - Math.round(nowMs / 1000);
  const text = `${Math.abs(skew)} s ${skew >= 0 ? 'ahead of' : 'behind'} this machine`;
  const fix = "an LXC uses its node's clock: enable NTP on the Proxmox node (`timedatectl set-ntp true`, chrony) and on this machine";
  if (Math.abs(skew) > CLOCK_FAIL_SECONDS) return check(`${id}.clock`, `${name}: clock`, 'fail', text, fix);
  if (Math.abs(skew) > CLOCK_WARN_SECONDS) return check(`${id}.clock`, `${name}: clock`, 'warn', text, fix);
  return check(`${id}.clock`, `${name}: clock`, 'ok', Math.abs(skew) <= 1 ? 'in sync with this machine' : text);
}
