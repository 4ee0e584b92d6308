import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { envExample, starterInventory } from '../../../src/inventory/starter.js';
import { ENV, loadError, writeInventory } from './helpers.js';

describe('proxflare init templates', () => {
  it('starts with the schema comment and keeps secrets in ${VAR}', () => {
    const starter = starterInventory();
    expect(starter.split('\n')[0]).toBe('# yaml-language-server: $schema=./inventory.schema.json');
    expect(starter).toContain('tokenSecret: ${PVE_TOKEN_SECRET}');
    expect(starter).toContain('apiToken: ${CLOUDFLARE_API_TOKEN}');
  });

  it('loads once the .env.example variables are filled in (via .env)', async () => {
    const names = Object.keys(parseEnv(envExample()));
    expect(names.sort()).toEqual(['CLOUDFLARE_ACCOUNT_ID', 'CLOUDFLARE_API_TOKEN', 'PVE_TOKEN_ID', 'PVE_TOKEN_SECRET']);
    expect(envExample()).toMatch(/^PVE_TOKEN_ID=$/m);
    expect(Object.values(parseEnv(envExample())).every((v) => v === '')).toBe(true);
    const dotenv = names.map((n) => `${n}=${ENV[n as keyof typeof ENV]}`).join('\n');
    const file = await writeInventory(starterInventory(), { '.env': dotenv });
    const inv = await loadInventory(file, { env: { HOME: '/home/tester' } });
    expect(inv.guests.map((g) => g.name)).toEqual(['jellyfin', 'nextcloud']);
    // The Proxmox UI as a host, meant on purpose and commented for Access.
    expect(inv.hosts.map((h) => [h.name, h.proxmoxNode, h.services[0]!.hostname, h.services[0]!.port])).toEqual([
      ['pve', true, 'pve.example.com', 8006],
    ]);
    expect(starterInventory()).toMatch(/protect it with Cloudflare Access/);
    expect(inv.warnings).toEqual([]);
  });

  it('fails with one clear issue per variable while .env is still a copy of .env.example', async () => {
    const file = await writeInventory(starterInventory(), { '.env': envExample() });
    const error = await loadError(file, { env: {} });
    expect(error.issues.map((i) => i.message)).toEqual([
      '${PVE_TOKEN_ID} is not set: export it or put it in .env',
      '${PVE_TOKEN_SECRET} is not set: export it or put it in .env',
      '${CLOUDFLARE_API_TOKEN} is not set: export it or put it in .env',
      '${CLOUDFLARE_ACCOUNT_ID} is not set: export it or put it in .env',
    ]);
    expect(error.issues.every((i) => /is empty/.test(i.hint ?? ''))).toBe(true);
  });

  it('the example inventory.yaml at the repository root loads with those variables', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const inv = await loadInventory(join(root, 'inventory.yaml'), { env: ENV, dotenv: false });
    expect(inv.cloudflare.zones).toEqual(['example.com']);
    expect(inv.guests.map((g) => `${g.name}:${g.type}`)).toEqual(['jellyfin:lxc', 'nextcloud:vm', 'homeassistant:vm', 'proxy:lxc']);
    expect(inv.connector.network).toMatchObject({ ip: '192.168.1.50/24', gw: '192.168.1.1' });
    const hostnames = inv.guests.flatMap((g) => g.services.map((s) => s.hostname));
    expect(hostnames).toContain('*.example.com');
    expect(inv.guests[1]!.services[0]!.originRequest).toEqual({ noTLSVerify: true });
    expect(inv.hosts.map((h) => `${h.name}:${h.address}:${h.proxmoxNode}`)).toEqual(['nas:192.168.1.5:false', 'pve:192.168.1.2:true']);
    expect(inv.warnings).toEqual([]);
  });
});
