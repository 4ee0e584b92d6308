import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { Secret } from '../../../src/core/secret.js';
import { ENV, FIXTURES, MINIMAL, PVE_SECRET, CF_TOKEN, load, positionOf } from './helpers.js';
import { readFile } from 'node:fs/promises';

describe('loadInventory normalisation', () => {
  const file = join(FIXTURES, 'valid.yaml');

  it('turns the valid fixture into the normalised Inventory', async () => {
    const inv = await loadInventory(file, { env: ENV, dotenv: false });
    expect(inv.file).toBe(file);
    expect(inv.proxmox).toMatchObject({
      url: 'https://pve.lan:8006',
      host: 'pve.lan',
      port: 8006,
      protocol: 'https',
      tokenId: 'proxflare@pve!cli',
      fingerprint: '3F:8A:1C:52:9E:04:B7:D1:66:0A:E2:47:91:5C:C8:2D:73:FE:19:B0:48:6D:A5:0C:E9:37:21:8B:D4:5F:60:AE',
      insecure: false,
      node: 'pve',
    });
    expect(inv.proxmox.tokenSecret).toBeInstanceOf(Secret);
    expect(inv.proxmox.tokenSecret.reveal()).toBe(PVE_SECRET);
    expect(inv.cloudflare.apiToken.reveal()).toBe(CF_TOKEN);
    expect(inv.cloudflare).toMatchObject({ accountId: '0123456789abcdef0123456789abcdef', zones: ['example.com'] });
    expect(inv.cloudflare.baseUrl).toBeUndefined();
    expect(inv.tunnel).toEqual({ name: 'homelab', catchAll: 'http_status:404' });
    expect(inv.connector).toMatchObject({
      hostname: 'cloudflared',
      node: 'pve',
      disk: 4,
      memory: 512,
      swap: 512,
      cores: 1,
      onboot: true,
      tag: 'proxflare',
      healthTimeoutSeconds: 30,
      network: { bridge: 'vmbr0', ip: 'dhcp' },
      cloudflared: { type: 'deb', path: join(FIXTURES, 'debs/cloudflared.deb'), version: '2026.8.2' },
    });
    expect(inv.connector.vmid).toBeUndefined();
    expect(inv.connector.ssh).toEqual({
      user: 'root',
      port: 22,
      privateKey: '/home/tester/keys/id_ed25519',
      publicKey: '/home/tester/keys/id_ed25519.pub',
      knownHosts: join(FIXTURES, 'known_hosts'),
      trustOnFirstUse: false,
    });
    expect(inv.settings).toEqual({ allowLoopbackOrigins: false, maxDeletes: 5 });
    expect(inv.warnings).toEqual([]);
  });

  it('normalises guests and services (defaults, lower-case and punycode hostnames, fields)', async () => {
    const inv = await loadInventory(file, { env: ENV, dotenv: false });
    const [jellyfin, nextcloud] = inv.guests;
    expect(jellyfin).toEqual({
      name: 'jellyfin',
      type: 'lxc',
      vmid: 101,
      node: 'pve',
      field: 'guests[0]',
      services: [{ hostname: 'media.example.com', scheme: 'http', port: 8096, field: 'guests[0].services[0]' }],
    });
    expect(nextcloud!.node).toBe('pve2');
    expect(nextcloud!.ip).toBe('192.168.1.20');
    expect(nextcloud!.services).toEqual([
      {
        hostname: 'cloud.example.com',
        scheme: 'https',
        port: 443,
        originRequest: { noTLSVerify: true, connectTimeout: '10s' },
        field: 'guests[1].services[0]',
      },
      { hostname: 'xn--bcher-kva.example.com', scheme: 'unix', socket: '/run/books.sock', field: 'guests[1].services[1]' },
      { hostname: '*.example.com', scheme: 'http_status', status: 404, field: 'guests[1].services[2]' },
    ]);
  });

  it('locates fields for later (plan-time) errors, falling back to the nearest parent', async () => {
    const inv = await loadInventory(file, { env: ENV, dotenv: false });
    const text = await readFile(file, 'utf8');
    const at = (needle: string, offset: number) => {
      const p = positionOf(text, needle, offset);
      return `${file}:${p.line}:${p.column}`;
    };
    expect(inv.positions.locate('guests[1].services[0].hostname')).toBe(at('hostname: cloud', 10));
    expect(inv.positions.locate('guests[1]')).toBe(at('name: nextcloud', 0));
    expect(inv.positions.locate('guests[0].services[0].scheme')).toBe(at('hostname: Media', 0));
    expect(inv.positions.locate('connector.ssh.port')).toBe(at('privateKey:', 0));
  });

  it('takes the port from the url, keeps http for the simulator, and accepts zones lists', async () => {
    const inv = await load(
      MINIMAL.replace('https://pve.lan:8006', 'http://127.0.0.1:18006').replace('zone: example.com', 'zones: [example.com, Example.org]'),
    );
    expect(inv.proxmox).toMatchObject({ url: 'http://127.0.0.1:18006', host: '127.0.0.1', port: 18006, protocol: 'http' });
    expect(inv.cloudflare.zones).toEqual(['example.com', 'example.org']);
    expect(inv.warnings.filter((w) => !w.includes('nothing is published'))).toEqual([]); // no guests here
  });

  it('applies documented defaults to a minimal inventory', async () => {
    const inv = await load(MINIMAL);
    expect(inv.guests).toEqual([]);
    expect(inv.connector.hostname).toBe('cloudflared');
    expect(inv.connector.cloudflared).toEqual({ type: 'apt' });
    expect(inv.connector.ssh.privateKey).toBe('/home/tester/.ssh/id_ed25519');
    expect(inv.connector.ssh.knownHosts).toBe('/home/tester/.config/proxflare/known_hosts');
    expect(inv.connector.ssh.jump).toBeUndefined();
  });

  it('fills in the jump host defaults and a static network', async () => {
    const inv = await load(`${MINIMAL}  network: { ip: 10.0.0.5/24, gw: 10.0.0.1, vlan: 20 }\n  ssh:\n    jump: { host: pve.lan }\n`);
    expect(inv.connector.network).toEqual({ bridge: 'vmbr0', ip: '10.0.0.5/24', gw: '10.0.0.1', vlan: 20 });
    expect(inv.connector.ssh.jump).toEqual({ host: 'pve.lan', port: 22, user: 'root' });
  });

  it('supports YAML anchors, merge keys and ignores top-level x- keys', async () => {
    const yaml = `x-tls: &tls { noTLSVerify: true, tlsTimeout: 5s }\n${MINIMAL}guests:\n  - name: a\n    type: lxc\n    vmid: 101\n    services:\n      - hostname: a.example.com\n        port: 443\n        scheme: https\n        originRequest:\n          <<: *tls\n          tlsTimeout: 9s\n`;
    const inv = await load(yaml);
    expect(inv.guests[0]!.services[0]!.originRequest).toEqual({ noTLSVerify: true, tlsTimeout: '9s' });
    const own = positionOf(yaml, 'tlsTimeout: 9s', 12);
    expect(inv.positions.locate('guests[0].services[0].originRequest.tlsTimeout')).toBe(`${inv.file}:${own.line}:${own.column}`);
  });
});
