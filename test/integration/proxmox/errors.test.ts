import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/core/errors.js';
import { Secret } from '../../../src/core/secret.js';
import { baseSeed, connectorSpec, guest, type Harness, SSH_KEY, startHarness, TOKEN_ID, TOKEN_SECRET } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProviderError);
  return e as ProviderError;
}

const running = [
  {
    type: 'lxc' as const,
    vmid: 101,
    node: 'pve',
    name: 'jellyfin',
    status: 'running' as const,
    interfaces: [{ name: 'eth0', ipv4: '192.168.1.101/24' }],
  },
];

describe('API failures map to errors that say what to fix', () => {
  it('401: bad token, never leaking the secret', async () => {
    h = await startHarness(baseSeed(), {}, {}, { tokenSecret: new Secret('11111111-2222-4333-8444-555555555555') });
    const e = await failure(h.adapter.readState(connectorSpec(), []));
    expect(e.status).toBe(401);
    expect(e.message).toMatch(/authentication failed for token proxflare@pve!cli \(Authentication failed!\)[\s\S]*tokenSecret/);
    expect(e.message).not.toContain('11111111-2222');
    expect(JSON.stringify(e)).not.toContain('11111111-2222');
    expect(inspect(e, { depth: 10 })).not.toContain('11111111-2222');
    expect(inspect(h.adapter, { depth: 10, showHidden: true })).not.toContain('11111111-2222');
  });

  it('malformed token id / secret are refused before any request', async () => {
    h = await startHarness(baseSeed());
    const { createProxmox } = await import('../../../src/proxmox/create-proxmox.js');
    const { settingsFor } = await import('./helpers.js');
    expect(() => createProxmox(settingsFor(h!.sim, { tokenId: 'proxflare@pve' }))).toThrow(/user@realm!tokenname/);
    expect(() => createProxmox(settingsFor(h!.sim, { tokenSecret: new Secret(TOKEN_SECRET.toUpperCase()) }))).toThrow(/lower-case UUID/);
    expect(h.sim.requests).toHaveLength(0);
  });

  it('the port is always passed explicitly (pitfall: the package applies no 8006 default)', async () => {
    h = await startHarness(baseSeed());
    const { createProxmox } = await import('../../../src/proxmox/create-proxmox.js');
    const { settingsFor } = await import('./helpers.js');
    expect(() => createProxmox(settingsFor(h!.sim, { port: undefined as unknown as number }))).toThrow(/explicit port/);
    // The simulator listens on a random port, never 443: every successful call proves the port was used.
    await h.adapter.readState(connectorSpec(), []);
    expect(h.sim.port).not.toBe(443);
    expect(h.sim.requests.length).toBeGreaterThan(0);
  });

  it('403: names the missing privilege and the path', async () => {
    const privs = [
      'VM.Allocate',
      'VM.Audit',
      'VM.Config.CPU',
      'VM.Config.Memory',
      'VM.Config.Disk',
      'VM.Config.Network',
      'VM.Config.Options',
      'Datastore.AllocateSpace',
      'Datastore.Audit',
    ];
    h = await startHarness(baseSeed([], { tokens: [{ id: TOKEN_ID, secret: TOKEN_SECRET, privileges: privs }] }));
    const e = await failure(h.adapter.createLxc({ connector: connectorSpec(), sshPublicKey: SSH_KEY }));
    expect(e.status).toBe(403);
    expect(e.message).toMatch(
      /lacks the privilege SDN\.Use on \/sdn\/zones\/localnetwork\/vmbr0[\s\S]*pveum acl modify \/sdn\/zones\/localnetwork\/vmbr0 --tokens 'proxflare@pve!cli'/,
    );
  });

  it('403 before 400: a missing privilege is reported even when parameters are malformed', async () => {
    h = await startHarness(baseSeed([], { tokens: [{ id: TOKEN_ID, secret: TOKEN_SECRET, privileges: ['VM.Audit', 'Datastore.Audit'] }] }));
    const spec = connectorSpec({ template: 'local:vztmpl/missing.tar.zst', storage: 'local' });
    const e = await failure(h.adapter.ensureTemplate(spec));
    expect(e.status).toBe(403);
    expect(e.message).toMatch(/lacks the privilege Datastore\.AllocateTemplate on \/storage\/local/);
  });

  it('bare 403 on create names VM.Allocate', async () => {
    h = await startHarness(baseSeed([], { tokens: [{ id: TOKEN_ID, secret: TOKEN_SECRET, privileges: ['VM.Audit', 'Datastore.Audit'] }] }));
    const e = await failure(h.adapter.createLxc({ connector: connectorSpec({ vmid: 300 }), sshPublicKey: SSH_KEY }));
    expect(e.status).toBe(403);
    expect(e.message).toMatch(/permission denied.*Permission check failed; this call needs VM\.Allocate on \/vms\/300/);
  });

  it('400: parameter verification errors name the parameters', async () => {
    h = await startHarness(baseSeed());
    const e = await failure(h.adapter.createLxc({ connector: connectorSpec({ hostname: 'bad_name', memory: 8 }), sshPublicKey: SSH_KEY }));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/hostname: invalid format - value does not look like a valid DNS name/);
    expect(e.message).toMatch(/memory: value must have a minimum value of 16/);
    expect(e.message).toMatch(/fix hostname, memory/);
  });

  it('500: a plain server error keeps its message', async () => {
    h = await startHarness(baseSeed());
    h.sim.faults.failNext({ method: 'POST', path: '/nodes/pve/lxc' }, { status: 500, message: 'cluster not ready - no quorum?' });
    const e = await failure(h.adapter.createLxc({ connector: connectorSpec({ vmid: 300 }), sshPublicKey: SSH_KEY }));
    expect(e.status).toBe(500);
    expect(e.message).toMatch(/failed with 500: cluster not ready - no quorum\?/);
  });

  it('595 from an offline node refuses the read (never "no guests")', async () => {
    h = await startHarness(baseSeed(running));
    h.sim.faults.setNodeOffline('pve');
    const e = await failure(h.adapter.readState(connectorSpec(), [guest('jellyfin', 'lxc', 101)]));
    expect(e.message).toMatch(/node pve is offline or not reporting[\s\S]*incomplete[\s\S]*partial read/);
  });

  it('595 on a node call maps to "node offline"', async () => {
    h = await startHarness(baseSeed(running));
    h.sim.faults.failNext({ path: /^\/nodes\/pve\/lxc\/101\/interfaces$/ }, { status: 595 });
    const e = await failure(h.adapter.readState(connectorSpec(), [guest('jellyfin', 'lxc', 101)]));
    expect(e.status).toBe(595);
    expect(e.message).toMatch(/node pve is offline or unreachable/);
  });

  it('an inventory node unknown to the cluster is a planning error', async () => {
    h = await startHarness(baseSeed());
    await expect(h.adapter.readState(connectorSpec({ node: 'pve2' }), [])).rejects.toThrow(
      /node "pve2" named in the inventory is not part of this Proxmox cluster/,
    );
  });

  it('a wrong Content-Type (pitfall: exact match) is reported as not-a-PVE-API', async () => {
    h = await startHarness(baseSeed());
    h.sim.faults.failNext({ path: '/cluster/resources' }, { status: 200, message: 'ok', contentType: 'application/json' });
    const e = await failure(h.adapter.readState(connectorSpec(), []));
    expect(e.message).toMatch(/Content-Type "application\/json" instead of "application\/json;charset=UTF-8"/);
  });

  it('GETs are retried on transient failures with a bound', async () => {
    h = await startHarness(baseSeed());
    h.sim.faults.failNext({ path: '/cluster/resources' }, { status: 503, message: 'Service Unavailable' });
    h.sim.faults.dropNext({ path: '/cluster/resources' }, 'before');
    const state = await h.adapter.readState(connectorSpec(), []);
    expect(state.connector).toBeUndefined();
    expect(h.sim.requests.filter((r) => r.path === '/cluster/resources')).toHaveLength(3);

    h.sim.resetRequests();
    h.sim.faults.failNext({ path: '/cluster/resources' }, { status: 503, message: 'Service Unavailable' }, 10);
    const e = await failure(h.adapter.readState(connectorSpec(), []));
    expect(e.status).toBe(503);
    expect(h.sim.requests.filter((r) => r.path === '/cluster/resources')).toHaveLength(3);
  });

  it('a POST is never sent twice when the connection drops (pitfall: retry-once)', async () => {
    h = await startHarness(baseSeed());
    h.sim.faults.dropNext({ method: 'POST', path: '/nodes/pve/lxc' }, 'after');
    const e = await failure(h.adapter.createLxc({ connector: connectorSpec({ vmid: 300 }), sshPublicKey: SSH_KEY }));
    expect(e.message).toMatch(/may have reached Proxmox; it is not resent/);
    expect(h.sim.requests.filter((r) => r.method === 'POST' && r.path === '/nodes/pve/lxc')).toHaveLength(1);
    // It was applied server-side; the next read finds it instead of creating a duplicate.
    const state = await h.adapter.readState(connectorSpec(), []);
    expect(state.connector?.vmid).toBe(300);
  });

  it('a PUT is never retried either', async () => {
    h = await startHarness(
      baseSeed([{ type: 'lxc', vmid: 150, node: 'pve', name: 'cloudflared', status: 'running', tags: ['proxflare'] }]),
    );
    h.sim.faults.dropNext({ method: 'PUT' }, 'before');
    await failure(h.adapter.updateLxc({ node: 'pve', vmid: 150 }, { memory: 1024 }, 'x'.repeat(40)));
    expect(h.sim.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });
});

describe('TLS', () => {
  it('a wrong fingerprint is refused before any request is answered', async () => {
    const wrong = 'AB:'.repeat(31) + 'AB';
    h = await startHarness(baseSeed(), {}, {}, { fingerprint: wrong });
    const e = await failure(h.adapter.readState(connectorSpec(), []));
    expect(e.message).toMatch(/does not match the pinned fingerprint \(server presented [0-9A-F:]{95}, inventory pins AB:AB/);
    expect(e.message).toMatch(/pvenode cert info/);
    expect(h.sim.requests).toHaveLength(0);
  });

  it('the right fingerprint in any case/colon form works', async () => {
    h = await startHarness(baseSeed());
    const { createProxmox } = await import('../../../src/proxmox/create-proxmox.js');
    const { settingsFor } = await import('./helpers.js');
    const px = createProxmox(settingsFor(h.sim, { fingerprint: h.sim.fingerprint.replace(/:/g, '').toLowerCase() }));
    try {
      await expect(px.readState(connectorSpec(), [])).resolves.toMatchObject({ templatePresent: true });
    } finally {
      await px.close();
    }
  });

  it('without a pin the self-signed certificate is not trusted', async () => {
    h = await startHarness(baseSeed(), {}, {}, { fingerprint: undefined });
    const e = await failure(h.adapter.readState(connectorSpec(), []));
    expect(e.message).toMatch(/not trusted[\s\S]*proxmox\.fingerprint/);
  });

  it('insecure works but warns loudly', async () => {
    h = await startHarness(baseSeed(), {}, {}, { fingerprint: undefined, insecure: true });
    await h.adapter.readState(connectorSpec(), []);
    expect(h.reporter.lines.some((l) => /^warn TLS verification .* is DISABLED/.test(l))).toBe(true);
  });
});
