import { describe, expect, it } from 'vitest';
import { MINIMAL, issueFor, load, loadError } from './helpers.js';

const withReplicas = (lines: string[], extra = '') => `${MINIMAL}${extra}  replicas:\n${lines.map((l) => `    - ${l}\n`).join('')}`;

describe('connector.replicas', () => {
  it("today's single connector is one replica", async () => {
    const inv = await load(MINIMAL);
    expect(inv.connectors).toHaveLength(1);
    expect(inv.connectors[0]).toBe(inv.connector);
    expect(inv.connector).toMatchObject({ hostname: 'cloudflared', node: 'pve', field: 'connector' });
  });

  it('each replica takes its own values over the shared defaults', async () => {
    const inv = await load(
      withReplicas(
        [
          '{ hostname: cloudflared-1, node: pve1 }',
          '{ hostname: Cloudflared-2, node: pve2, vmid: 152, sshHost: 10.0.0.2 }',
          '{ hostname: cloudflared-3, node: pve3, standby: true, storage: fast }',
        ],
        '  memory: 256\n',
      ),
    );
    expect(inv.connectors.map((c) => [c.hostname, c.node, c.vmid, c.standby, c.storage, c.memory, c.ssh.host, c.field])).toEqual([
      ['cloudflared-1', 'pve1', undefined, false, 'local-lvm', 256, undefined, 'connector.replicas[0]'],
      ['cloudflared-2', 'pve2', 152, false, 'local-lvm', 256, '10.0.0.2', 'connector.replicas[1]'],
      ['cloudflared-3', 'pve3', undefined, true, 'fast', 256, undefined, 'connector.replicas[2]'],
    ]);
    expect(inv.connector).toBe(inv.connectors[0]);
    expect('vmid' in inv.connectors[0]!).toBe(false);
    expect(inv.warnings.filter((w) => /replica/.test(w))).toEqual([]);
  });

  it('two replicas on one node: a warning, not an error', async () => {
    const inv = await load(withReplicas(['{ hostname: a, node: pve1 }', '{ hostname: b, node: pve1 }', '{ hostname: c }']));
    expect(inv.warnings.join('\n')).toMatch(/replicas a, b all run on node pve1: a reboot of pve1 takes them down together/);
    expect(inv.warnings.join('\n')).not.toMatch(/node pve:/);
  });

  it('refuses duplicate hostnames and vmids, more than 25, all standby, one shared ssh.host or static ip', async () => {
    const dup = await loadError(withReplicas(['{ hostname: a, vmid: 150 }', '{ hostname: A, vmid: 150 }']));
    expect(issueFor(dup, 'connector.replicas[1].hostname').message).toMatch(/"a" is also connector.replicas\[0\]/);
    expect(issueFor(dup, 'connector.replicas[1].vmid').message).toMatch(/vmid 150 is also connector.replicas\[0\]/);

    const many = await loadError(withReplicas(Array.from({ length: 26 }, (_, i) => `{ hostname: c${i} }`)));
    expect(many.message).toMatch(/connector\.replicas.*25/);

    const standby = await loadError(withReplicas(['{ hostname: a, standby: true }', '{ hostname: b, standby: true }']));
    expect(issueFor(standby, 'connector.replicas').message).toMatch(/every replica is a standby/);

    const ssh = await loadError(withReplicas(['{ hostname: a }', '{ hostname: b }'], '  ssh: { host: 10.0.0.9 }\n'));
    expect(issueFor(ssh, 'connector.ssh.host').hint).toMatch(/sshHost/);

    const ip = await loadError(withReplicas(['{ hostname: a }', '{ hostname: b }'], '  network: { ip: 10.0.0.9/24 }\n'));
    expect(issueFor(ip, 'connector.network.ip').message).toMatch(/cannot be shared/);

    const badIp = await loadError(withReplicas(['{ hostname: a, network: { ip: 10.0.0.300 } }']));
    expect(issueFor(badIp, 'connector.replicas[0].network.ip').message).toMatch(/neither dhcp nor/);
  });
});
