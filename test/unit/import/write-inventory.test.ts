import { describe, expect, it } from 'vitest';
import { writeImportedInventory } from '../../../src/import/write-inventory.js';
import type { ExistingSetup } from '../../../src/import/read-existing.js';
import { parse } from 'yaml';
import { fakeHomelab } from '../../support/fake-homelab.js';

const TUNNEL = '6f1c6b0e-1111-4a2b-9c3d-000000000001';

function setup(over: Partial<ExistingSetup> = {}): ExistingSetup {
  return {
    tunnel: { id: TUNNEL, name: 'homelab', status: 'healthy', createdAt: '', configSrc: 'cloudflare' },
    ingressSource: 'cloudflare',
    ingress: [
      { hostname: 'media.example.com', service: 'http://192.0.2.11:8096' },
      { hostname: 'nas.example.com', service: 'https://192.168.1.5:5001', originRequest: { noTLSVerify: true, connectTimeout: 30 } },
      { hostname: 'sock.example.com', service: 'unix:/run/app.sock' },
      { service: 'http_status:404' },
    ],
    connector: undefined,
    records: [],
    guests: [{ node: 'pve', vmid: 101, name: 'jellyfin', type: 'lxc', status: 'running', tags: [], ip: '192.0.2.11' }],
    connectorLxc: undefined,
    ...over,
  };
}

describe('writeImportedInventory', () => {
  it('puts origins under the guest with that address, others under hosts:, and says what it left out', async () => {
    const base = await (await fakeHomelab()).load();
    const { yaml, notes } = writeImportedInventory(base, setup());
    const doc = parse(yaml) as { guests: unknown[]; hosts: unknown[]; proxmox: { tokenSecret: string }; cloudflare: { apiToken: string } };
    expect(doc.guests).toEqual([{ name: 'jellyfin', type: 'lxc', vmid: 101, services: [{ hostname: 'media.example.com', port: 8096 }] }]);
    // Durations come from the API as seconds; the inventory takes Go durations.
    expect(doc.hosts).toEqual([
      {
        name: 'host-192-168-1-5',
        address: '192.168.1.5',
        services: [
          { hostname: 'nas.example.com', port: 5001, scheme: 'https', originRequest: { noTLSVerify: true, connectTimeout: '30s' } },
        ],
      },
    ]);
    expect(doc.proxmox.tokenSecret).toBe('${PVE_TOKEN_SECRET}');
    expect(doc.cloudflare.apiToken).toBe('${CLOUDFLARE_API_TOKEN}');
    expect(notes).toEqual([
      'sock.example.com: unix:/run/app.sock was not imported (only network origins on a hostname are); add it by hand',
    ]);
    expect(yaml).toContain('# NOTE: sock.example.com');
  });
});
