import { expect, it } from 'vitest';
import { benchCloudflare } from '../../../src/sim/cloudflare/bench-cloudflare.js';

it('keeps Cloudflare requests constant: 1,000 routes among 4,000 foreign records', async () => {
  const r = await benchCloudflare(1000, 4000);
  // 1,000 creates at 200 operations per batch (Free plan).
  expect(r.apply).toMatchObject({ requests: 5, batchRequests: 5 });
  // Tunnel lookup + zone lookup + one 5,000-record page + the empty page that ends pagination.
  expect(r.noopRead).toMatchObject({ requests: 4, changes: 0, noops: 1000 });
  console.log(`cloudflare bench: ${JSON.stringify(r)}`);
}, 120_000);
