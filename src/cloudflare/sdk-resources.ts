/**
 * The Cloudflare SDK client with only the API resources proxflare calls, through the SDK's
 * own tree-shakable entry (README "Tree shaking" of the `cloudflare` package). The full client
 * imports and constructs all ~125 resources with their subresources (~2.2 MB of code) on every
 * sync; bundled (src/build/bundle.ts), this loads a fraction of it. A call to a resource not
 * listed here does not type-check.
 */
import { BaseTokens as AccountTokens } from 'cloudflare/resources/accounts/tokens/tokens';
import { BaseRecords } from 'cloudflare/resources/dns/records';
import { BaseTokens as UserTokens } from 'cloudflare/resources/user/tokens/tokens';
import { BaseApplications } from 'cloudflare/resources/zero-trust/access/applications/applications';
import { BasePolicies } from 'cloudflare/resources/zero-trust/access/policies';
import { BaseServiceTokens } from 'cloudflare/resources/zero-trust/access/service-tokens';
import { BaseTags } from 'cloudflare/resources/zero-trust/access/tags';
import { BaseIdentityProviders } from 'cloudflare/resources/zero-trust/identity-providers/identity-providers';
import { BaseOrganizations } from 'cloudflare/resources/zero-trust/organizations/organizations';
import { Cloudflared } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/cloudflared';
import { BaseZones } from 'cloudflare/resources/zones/zones';
import { createClient } from 'cloudflare/tree-shakable';

type ClientOptions = Omit<Parameters<typeof createClient>[0], 'resources'>;

export function createSdk(options: ClientOptions) {
  return createClient({
    ...options,
    resources: [
      BaseZones,
      BaseRecords,
      // With its configurations, connections and token subresources.
      Cloudflared,
      BaseApplications,
      BasePolicies,
      BaseServiceTokens,
      BaseTags,
      BaseIdentityProviders,
      BaseOrganizations,
      UserTokens,
      AccountTokens,
    ],
  });
}

export type SdkClient = ReturnType<typeof createSdk>;
