import { randomUUID } from 'node:crypto';
import { connectConnector } from '../connector/ssh-connector.js';
import type { CloudflareSim } from '../sim/cloudflare/start-cloudflare-sim.js';
import type { SimTunnel } from '../sim/cloudflare/sim-state.js';
import { tunnelToken } from '../sim/cloudflare/sim-state.js';
import type { SimLxcSeed } from '../sim/proxmox/seed.js';
import type { SandboxHost } from '../sim/ssh/sandbox-host.js';

/**
 * A homelab that already has a tunnel, as most people who find proxflare have one: a
 * community-scripts cloudflared LXC (github.com/community-scripts/ProxmoxVE @ 8386465,
 * ct/cloudflared.sh: tags `network;cloudflare`, 1 core, 512 MiB, 2 GiB, unprivileged;
 * install/cloudflared-install.sh: cloudflared from Cloudflare's apt repository, no tunnel)
 * on which the owner then ran `cloudflared service install <TOKEN>`, for a remotely-managed
 * tunnel whose routes were made in the dashboard (each with a proxied CNAME, no comment).
 */

export const PRE_EXISTING_VMID = 110;

/** The LXC as Proxmox lists it; its address is the sandbox's, where the SSH host plays it. */
export function communityScriptsLxc(): SimLxcSeed {
  return {
    type: 'lxc',
    vmid: PRE_EXISTING_VMID,
    node: 'pve',
    name: 'cloudflared',
    status: 'running',
    tags: ['network', 'cloudflare'],
    memory: 512,
    cores: 1,
    swap: 512,
    unprivileged: true,
    rootfs: `local-lvm:vm-${PRE_EXISTING_VMID}-disk-0,size=2G`,
    net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:10,ip=dhcp,type=veth',
    interfaces: [{ name: 'eth0', ipv4: '127.0.0.1/8', hwaddr: 'bc:24:11:00:01:10' }],
  };
}

/** `cloudflared service install <TOKEN>` (cmd/cloudflared/linux_service.go @ d1df798, since 2026.7.2: --token-file). */
export const SERVICE_INSTALL_UNIT = `[Unit]
Description=Cloudflare Tunnel client
After=network-online.target
Wants=network-online.target

[Service]
TimeoutStartSec=15
Type=notify
ExecStart=/usr/bin/cloudflared --no-autoupdate tunnel run --token-file /etc/cloudflared/token
Restart=on-failure
RestartSec=5s

[Install]
WantedBy=multi-user.target
`;

/** Written next to it unless `--no-update-service` (linux_service.go `serviceUpdateTimer`/`serviceUpdateService`). */
const UPDATE_SERVICE = `[Unit]
Description=Update cloudflared
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/bin/bash -c '/usr/bin/cloudflared update; code=$?; if [ $code -eq 11 ]; then systemctl restart cloudflared; exit 0; fi; exit $code'
`;

const UPDATE_TIMER = `[Unit]
Description=Update cloudflared

[Timer]
OnCalendar=daily

[Install]
WantedBy=timers.target
`;

export interface PreExistingRoute {
  hostname: string;
  service: string;
}

/**
 * Seed the Cloudflare simulator and the sandbox host with the pre-existing setup, and start
 * its cloudflared (from the token). Returns the tunnel id and the connector id it runs under.
 */
export async function seedPreExisting(p: {
  cloudflare: CloudflareSim;
  host: SandboxHost;
  zone: string;
  tunnelName: string;
  routes: PreExistingRoute[];
  /** The stand-in cloudflared package, installed as the community script installs cloudflared. */
  deb: string;
  /** Records the connector id of the sandbox's cloudflared (it registers with the simulated edge itself). */
  connectorStarted: (clientId: string) => void;
}): Promise<{ tunnelId: string }> {
  const { cloudflare, host } = p;
  const tunnel = cloudflare.state.seedTunnel(cloudflare.accountId, p.tunnelName);
  tunnel.configSrc = 'cloudflare';
  tunnel.config = {
    version: 3,
    config: {
      ingress: [...p.routes.map((r) => ({ hostname: r.hostname, service: r.service, originRequest: {} })), { service: 'http_status:404' }],
    },
    created_at: new Date().toISOString(),
  };
  for (const r of p.routes)
    cloudflare.state.seedRecord(p.zone, { name: r.hostname, type: 'CNAME', content: `${tunnel.id}.cfargotunnel.com`, proxied: true });

  p.connectorStarted(await installServiceInstall(host, tunnel, p.deb));
  return { tunnelId: tunnel.id };
}

/**
 * The connector side of the pre-existing setup on one host: cloudflared from `deb`, then the unit
 * and token as `cloudflared service install <TOKEN>` writes them, started as it starts them.
 * Returns the connector id it registered under. A second host run this way is a second replica.
 */
export async function installServiceInstall(host: SandboxHost, tunnel: SimTunnel, deb: string): Promise<string> {
  const c = await connectConnector(host.target({ host: host.host }));
  try {
    // install/cloudflared-install.sh: the cloudflared package (here the stand-in's .deb) at /usr/bin/cloudflared.
    await c.installCloudflared({ type: 'deb', path: deb });
    await c.deploy({
      files: [
        { path: '/etc/cloudflared/token', content: tunnelToken(tunnel), mode: 0o600, sensitive: true },
        { path: '/etc/systemd/system/cloudflared.service', content: SERVICE_INSTALL_UNIT, mode: 0o644 },
        { path: '/etc/systemd/system/cloudflared-update.service', content: UPDATE_SERVICE, mode: 0o644 },
        { path: '/etc/systemd/system/cloudflared-update.timer', content: UPDATE_TIMER, mode: 0o644 },
      ],
      unit: 'cloudflared.service',
      restart: true,
      reloadUnits: true,
    });
    // The edge lists the connector under the id its /ready reports: it registered itself.
    return (await c.readiness()).connectorId ?? randomUUID();
  } finally {
    await c.close();
  }
}
