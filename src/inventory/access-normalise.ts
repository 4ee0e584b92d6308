import type * as z from 'zod';
import type { accessSchema, serviceAccessSchema } from './access-schema.js';
import type { AccessSettings, PolicySpec, ServiceAccess, ServiceTokenSpec } from './access-types.js';

type AccessInput = z.output<typeof accessSchema>;
type ServiceAccessInput = z.output<typeof serviceAccessSchema>;

/** Schema-valid `access:` → AccessSettings; `localPath` resolves paths against the inventory's directory. */
export function normaliseAccess(input: AccessInput, localPath: (path: string) => string): AccessSettings {
  const policies = new Map<string, PolicySpec>();
  for (const [name, p] of Object.entries(input.policies)) {
    const field = `access.policies.${name}`;
    policies.set(
      name,
      p.existing !== undefined
        ? { kind: 'existing', name, existing: p.existing, field }
        : {
            kind: 'owned',
            name,
            emails: [...new Set((p.emails ?? []).map((e) => e.toLowerCase()))].sort(),
            emailDomains: [...new Set((p.emailDomains ?? []).map((e) => e.toLowerCase()))].sort(),
            serviceTokens: [...new Set(p.serviceTokens ?? [])].sort(),
            idps: [...new Set(p.idps ?? [])].sort(),
            field,
          },
    );
  }
  const serviceTokens: ServiceTokenSpec[] = input.serviceTokens.map((t, i) => {
    const spec = typeof t === 'string' ? { name: t } : t;
    return {
      name: spec.name,
      secretFile: localPath(('secretFile' in spec && spec.secretFile) || `./${spec.name}.service-token.json`),
      ...('duration' in spec && spec.duration ? { duration: spec.duration } : {}),
      field: `access.serviceTokens[${i}]`,
    };
  });
  return { ...(input.teamName ? { teamName: input.teamName.toLowerCase() } : {}), policies, serviceTokens, field: 'access' };
}

export function normaliseServiceAccess(input: ServiceAccessInput | undefined, field: string): ServiceAccess | undefined {
  if (input === undefined) return undefined;
  if (typeof input === 'string') return { policies: [input], publicPaths: [], field };
  if (Array.isArray(input)) return { policies: [...input], publicPaths: [], field };
  return {
    policies: [...input.policies],
    ...(input.sessionDuration ? { sessionDuration: input.sessionDuration } : {}),
    publicPaths: [...new Set(input.publicPaths ?? [])].sort(),
    field,
  };
}
