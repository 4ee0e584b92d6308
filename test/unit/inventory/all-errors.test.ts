import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { formatIssue } from '../../../src/core/errors.js';
import { ENV, FIXTURES, loadError } from './helpers.js';

describe('an inventory with many problems', () => {
  const file = join(FIXTURES, 'all-errors.yaml');
  const env = { ...ENV, CLOUDFLARE_API_TOKEN: undefined };

  it('reports every problem at once, each with file:line:col, field and hint, in file order', async () => {
    const error = await loadError(file, { env, dotenv: false });
    const got = error.issues.map((i) => `${i.line}:${i.column} ${i.field}`);
    expect(got).toEqual([
      '3:12 proxmox.tokenId',
      '7:13 cloudflare.apiToken',
      '8:14 cloudflare.accountId',
      '11:3 tunnel.name',
      '11:3 tunnel.nmae',
      '13:13 connector.hostname',
      '16:33 connector.network.ip',
      '16:53 connector.network.vlan',
      '19:11 guests[0].type',
      '23:15 guests[0].services[0].port',
      '24:19 guests[0].services[1].hostname',
      '26:11 guests[1].name',
      '28:11 guests[1].vmid',
      '30:19 guests[1].services[0].hostname',
      '33:11 guests[1].services[0].originRequest.noTlsVerify',
    ]);
    for (const issue of error.issues) {
      expect(issue.file).toBe(file);
      expect(issue.hint, formatIssue(issue)).toBeTruthy();
    }
    expect(error.message).toMatch(/^15 problems in the inventory:\n/);
  });

  it('says what is wrong and how to fix it', async () => {
    const error = await loadError(file, { env, dotenv: false });
    const byField = new Map(error.issues.map((i) => [i.field, i]));
    expect(byField.get('proxmox.tokenId')!.message).toContain('user@realm!tokenname');
    expect(byField.get('cloudflare.apiToken')!.message).toBe('${CLOUDFLARE_API_TOKEN} is not set: export it or put it in .env');
    expect(byField.get('tunnel.nmae')!.hint).toBe('did you mean `name`?');
    expect(byField.get('tunnel.name')!.message).toBe('is required');
    expect(byField.get('guests[0].type')!.message).toBe('must be one of lxc, vm');
    expect(byField.get('guests[0].services[0].port')!.message).toBe('must be between 1 and 65535');
    expect(byField.get('guests[0].services[1].hostname')!.message).toBe('hostname media.example.org is not in the zone example.com');
    expect(byField.get('guests[1].name')!.message).toContain(`already used by guests[0] (${file}:18:11)`);
    expect(byField.get('guests[1].vmid')!.message).toContain(`vmid 101 is already used by guests[0] (${file}:20:11)`);
    expect(byField.get('guests[1].services[0].hostname')!.message).toContain(
      `hostname media.example.com is already used by guests[0].services[0] (${file}:22:19)`,
    );
    expect(byField.get('guests[1].services[0].originRequest.noTlsVerify')!.hint).toBe('did you mean `noTLSVerify`?');
    expect(byField.get('connector.network.vlan')!.message).toBe('must be between 1 and 4094');
    expect(byField.get('connector.network.ip')!.hint).toBe('add the prefix length, e.g. 192.168.1.50/24');
  });
});
