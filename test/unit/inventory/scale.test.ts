import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance } from '../../../src/inventory/did-you-mean.js';
import { MINIMAL, load, loadError } from './helpers.js';

function bigInventory(guests: number, servicesPerGuest: number, duplicateLast = false): string {
  const lines = [MINIMAL, 'guests:'];
  for (let g = 0; g < guests; g++) {
    lines.push(`  - name: guest${g}`, '    type: lxc', `    vmid: ${1000 + g}`, '    services:');
    for (let s = 0; s < servicesPerGuest; s++) lines.push(`      - hostname: s${s}-g${g}.example.com`, `        port: ${8000 + s}`);
  }
  if (duplicateLast) lines.push('      - hostname: s0-g0.example.com', '        port: 1');
  return `${lines.join('\n')}\n`;
}

describe('large inventories', () => {
  it('loads 1,000 services', async () => {
    const inv = await load(bigInventory(100, 10));
    expect(inv.guests.flatMap((g) => g.services)).toHaveLength(1000);
    expect(inv.positions.locate('guests[99].services[9].port')).toMatch(/:\d+:15$/);
  });

  it('still finds a duplicate among 1,000 services', async () => {
    const error = await loadError(bigInventory(100, 10, true));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.field).toBe('guests[99].services[10].hostname');
  });
});

describe('did you mean', () => {
  it('measures edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('suggests only plausible typos', () => {
    expect(didYouMean('servcies', ['services', 'name'])).toBe('services');
    expect(didYouMean('NOTLSVERIFY', ['noTLSVerify', 'caPool'])).toBe('noTLSVerify');
    expect(didYouMean('banana', ['services', 'name'])).toBeUndefined();
  });
});
