import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { interpolate } from '../../../src/inventory/interpolate.js';
import { ENV, MINIMAL, issueFor, load, loadError, positionOf, writeInventory } from './helpers.js';

describe('interpolate', () => {
  it('expands ${VAR}, ${VAR:-default} and keeps $${ and lone $ literal', () => {
    const env = { A: 'x', EMPTY: '' };
    expect(interpolate('${A}-${A}', env).value).toBe('x-x');
    expect(interpolate('${B:-fallback}', env).value).toBe('fallback');
    expect(interpolate('${EMPTY:-fallback}', env).value).toBe('fallback');
    expect(interpolate('${EMPTY}', env).missing).toEqual([{ name: 'EMPTY', expression: '${EMPTY}', empty: true }]);
    expect(interpolate('$${A} costs $5', env).value).toBe('${A} costs $5');
    expect(interpolate('${B}', env).missing).toEqual([{ name: 'B', expression: '${B}', empty: false }]);
    expect(interpolate('${1X} ${', env).malformed).toEqual(['${1X}', '${']);
  });
});

describe('environment in the inventory', () => {
  it('reads .env next to the inventory, and the real environment wins over it', async () => {
    const file = await writeInventory(MINIMAL.replace('name: homelab', 'name: ${TUNNEL_NAME}').replace('node: pve', 'node: ${NODE}'), {
      '.env': '# comment\nTUNNEL_NAME=from-dotenv\nNODE="pve7"\nPVE_TOKEN_ID=ignored@pve!x\n',
    });
    const inv = await loadInventory(file, { env: ENV });
    expect(inv.tunnel.name).toBe('from-dotenv');
    expect(inv.proxmox.node).toBe('pve7');
    expect(inv.proxmox.tokenId).toBe('proxflare@pve!cli');
  });

  it('ignores .env when dotenv is false', async () => {
    const file = await writeInventory(MINIMAL.replace('name: homelab', 'name: ${TUNNEL_NAME}'), { '.env': 'TUNNEL_NAME=x\n' });
    const error = await loadError(file, { env: ENV, dotenv: false });
    expect(issueFor(error, 'tunnel.name').message).toBe('${TUNNEL_NAME} is not set: export it or put it in .env');
  });

  it('types unquoted numbers and booleans that come from variables, but keeps quoted ones strings', async () => {
    const yaml = `${MINIMAL}  onboot: \${ONBOOT}\n  memory: \${MEM:-1024}\nguests:\n  - name: a\n    type: lxc\n    vmid: 101\n    services:\n      - hostname: a.example.com\n        port: "\${PORT}"\n`;
    const error = await loadError(yaml, { env: { ...ENV, ONBOOT: 'false', PORT: '8080' } });
    expect(error.issues.map((i) => i.field)).toEqual(['guests[0].services[0].port']);
    expect(issueFor(error, 'guests[0].services[0].port')).toMatchObject({
      message: 'must be a whole number, not a quoted string',
      hint: 'remove the quotes around the number',
    });
    const inv = await load(yaml.replace('"${PORT}"', '${PORT}'), { env: { ...ENV, ONBOOT: 'false', PORT: '8080' } });
    expect(inv.connector.onboot).toBe(false);
    expect(inv.connector.memory).toBe(1024);
    expect(inv.guests[0]!.services[0]!.port).toBe(8080);
  });

  it('reports every missing variable at the scalar that uses it, and nothing else for that field', async () => {
    const yaml = MINIMAL;
    const error = await loadError(yaml, { env: { HOME: '/h' }, dotenv: false });
    expect(error.issues.map((i) => i.field)).toEqual(['proxmox.tokenId', 'proxmox.tokenSecret', 'cloudflare.apiToken']);
    const secret = issueFor(error, 'proxmox.tokenSecret');
    expect(secret).toMatchObject({
      ...positionOf(yaml, '${PVE_TOKEN_SECRET}'),
      message: '${PVE_TOKEN_SECRET} is not set: export it or put it in .env',
    });
    expect(secret.hint).toContain('PVE_TOKEN_SECRET=...');
  });

  it('reports malformed references', async () => {
    const error = await loadError(MINIMAL.replace('name: homelab', 'name: ${tunnel name}'));
    expect(issueFor(error, 'tunnel.name').message).toMatch(/^malformed variable reference/);
  });
});
