import { describe, expect, it } from 'vitest';
import { compareVersions, newestStandardTemplate } from '../../../src/proxmox/template.js';
import { issueFor, load, loadError, MINIMAL, positionOf } from './helpers.js';

/** connector.template: an OS + release resolved on the node, or a volid pin (issue #11). */
describe('connector.template', () => {
  const withTemplate = (value: string) => MINIMAL.replace(/ {2}template: .*\n/, `  template: ${value}\n`);

  it.each(['debian-12', 'debian-13', 'ubuntu-24.04', 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst'])(
    'accepts %s',
    async (value) => {
      expect((await load(withTemplate(value))).connector.template).toBe(value);
    },
  );

  it('defaults to debian-12', async () => {
    expect((await load(MINIMAL.replace(/ {2}template: .*\n/, ''))).connector.template).toBe('debian-12');
  });

  it('a volume id without vztmpl/ is an error at its line, with the corrected value', async () => {
    const yaml = withTemplate('local:debian-12-standard_12.12-1_amd64.tar.zst');
    const issue = issueFor(await loadError(yaml), 'connector.template');
    expect(issue).toMatchObject({
      ...positionOf(yaml, 'local:debian'),
      message: expect.stringContaining('without the content type vztmpl/'),
    });
    expect(issue.hint).toContain('write local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst');
  });

  it('anything else names both forms', async () => {
    const issue = issueFor(await loadError(withTemplate('Debian 12')), 'connector.template');
    expect(issue.message).toMatch(/OS and release like debian-12, or a template volume id/);
  });
});

describe('picking the newest standard template', () => {
  it('compares versions numerically (12.12-1 is newer than 12.7-1)', () => {
    expect(compareVersions('12.12-1', '12.7-1')).toBeGreaterThan(0);
    expect(compareVersions('24.04-2', '24.04-10')).toBeLessThan(0);
    expect(compareVersions('13.1-2', '13.1-2')).toBe(0);
  });

  it('matches only <os>-standard_<version>_amd64 of that release', () => {
    const files = [
      'debian-12-standard_12.7-1_amd64.tar.zst',
      'debian-12-standard_12.12-1_amd64.tar.zst',
      'debian-12-standard_12.13-1_arm64.tar.zst',
      'debian-13-standard_13.1-2_amd64.tar.zst',
      'debian-12-turnkey-core_18.0-1_amd64.tar.gz',
    ];
    expect(newestStandardTemplate('debian-12', files)).toBe('debian-12-standard_12.12-1_amd64.tar.zst');
    expect(newestStandardTemplate('debian-13', files)).toBe('debian-13-standard_13.1-2_amd64.tar.zst');
    expect(newestStandardTemplate('ubuntu-24.04', files)).toBeUndefined();
  });
});
