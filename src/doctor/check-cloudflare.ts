import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import { verifyCloudflareToken } from '../cloudflare/token-verify.js';
import type { Ports } from '../sync/ports.js';
import { check, type DoctorCheck, fromError } from './types.js';

const TOKEN_FIX =
  'create an API token (My Profile → API Tokens) with Account: Cloudflare Tunnel Edit, Zone: Zone Read and Zone: DNS Edit (see docs/cloudflare.md) and put it in CLOUDFLARE_API_TOKEN';

/**
 * The token (tokens/verify), then each permission proved by a read that needs it: the zone
 * lookup (Zone Read), its records (DNS Read or Edit), the tunnel (Tunnel Read), the tunnel's
 * token (Tunnel Edit, when the tunnel exists), Access (the organization). DNS Edit can only be
 * proved by a write: `sync` names it when it is missing.
 */
export async function checkCloudflare(inventory: Inventory, ports: Ports, reporter: Reporter): Promise<DoctorCheck[]> {
  const cf = inventory.cloudflare;
  const verified = await verifyCloudflareToken(cf, reporter);
  if (!verified.ok) {
    return [
      check('cloudflare.token', 'Cloudflare API token', 'fail', `the token is not valid: ${verified.detail}`, TOKEN_FIX),
      check('cloudflare.zones', 'Cloudflare zones', 'skip', 'the token is not valid'),
      check('cloudflare.tunnel', 'Cloudflare tunnel', 'skip', 'the token is not valid'),
    ];
  }
  const checks: DoctorCheck[] = [
    check('cloudflare.token', 'Cloudflare API token', 'ok', `valid and active (${verified.owner} token ${verified.id})`),
  ];

  for (const zone of cf.zones) {
    try {
      const records = await ports.cloudflare.listZoneRecords(zone);
      checks.push(
        check(
          `cloudflare.zone:${zone}`,
          `zone ${zone}`,
          'ok',
          `found (${records.records.length} records readable: Zone Read and DNS Read or Edit present)`,
        ),
      );
    } catch (err) {
      checks.push(
        fromError(`cloudflare.zone:${zone}`, `zone ${zone}`, err, `give the token "Zone: Zone Read" and "Zone: DNS Edit" for ${zone}`),
      );
    }
  }

  try {
    const tunnel = await ports.cloudflare.findTunnel(cf.accountId, inventory.tunnel.name);
    if (!tunnel) {
      checks.push(
        check(
          'cloudflare.tunnel',
          `tunnel ${inventory.tunnel.name}`,
          'ok',
          `not found in account ${cf.accountId}: sync creates it (Tunnel Read present; Tunnel Edit is proved by the create)`,
        ),
      );
    } else {
      try {
        await ports.cloudflare.recoverCredentials(cf.accountId, tunnel.id);
        checks.push(
          check(
            'cloudflare.tunnel',
            `tunnel ${inventory.tunnel.name}`,
            'ok',
            `found (id ${tunnel.id}); Tunnel Read and Tunnel Edit present`,
          ),
        );
      } catch (err) {
        checks.push(
          fromError('cloudflare.tunnel', `tunnel ${inventory.tunnel.name}`, err, 'give the token "Account: Cloudflare Tunnel Edit"'),
        );
      }
    }
  } catch (err) {
    checks.push(
      fromError(
        'cloudflare.tunnel',
        `tunnel ${inventory.tunnel.name}`,
        err,
        'give the token "Account: Cloudflare Tunnel Edit" for the account in cloudflare.accountId',
      ),
    );
  }

  if (inventory.access) {
    if (!ports.access) {
      checks.push(check('cloudflare.access', 'Cloudflare Access', 'skip', 'no Access adapter'));
    } else {
      try {
        const access = await ports.access.readAccess(cf.accountId);
        checks.push(
          access.organization
            ? check('cloudflare.access', 'Cloudflare Access (Zero Trust)', 'ok', `organization found (${access.organization.authDomain})`)
            : check(
                'cloudflare.access',
                'Cloudflare Access (Zero Trust)',
                'fail',
                `account ${cf.accountId} has no Zero Trust organization yet, so no Access application can be created`,
                'open the Cloudflare dashboard → Zero Trust once and choose a team name (the free plan is enough), then run doctor again',
              ),
        );
      } catch (err) {
        checks.push(
          fromError(
            'cloudflare.access',
            'Cloudflare Access (Zero Trust)',
            err,
            'give the token "Access: Apps and Policies Edit" and "Access: Organizations, Identity Providers, and Groups Read"',
          ),
        );
      }
    }
  }
  return checks;
}
