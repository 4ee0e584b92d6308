import { parse as parseYaml } from 'yaml';
import { parseGoDuration } from '../ingress/go-yaml.js';
import type { RemoteIngressRule, RemoteTunnelConfig, TunnelState } from '../ports/cloudflare.js';
import type { ConnectorState } from '../ports/connector.js';
import { MANAGED_PATHS } from './actual-state.js';
import { tunnelAddress } from './addresses.js';
import { isOurFile } from './ownership.js';
import type { Conflict, TunnelConfigChange } from './types.js';
import { byCodePoint } from '../core/compare.js';

/**
 * A remotely-managed tunnel (config_src `cloudflare`), the kind the dashboard and
 * `cloudflared service install <TOKEN>` set up. Two facts decide what adopting it means:
 * - config_src cannot be changed: the API's tunnel PATCH takes only `name` and `tunnel_secret`
 *   (cloudflare-typescript src/resources/zero-trust/tunnels/cloudflared/cloudflared.ts
 *   `CloudflaredEditParams`, SDK 7.3 and the SDK's main branch alike; access-ha-health.md §4.1).
 *   The tunnel stays remotely managed, whatever proxflare does.
 * - the edge pushes its configuration to every connector of such a tunnel, and it wins over
 *   config.yml: cloudflared starts its local config at version -1 "to allow the remote to
 *   override the current configuration as it will start at version 0"
 *   (cloudflare/cloudflared orchestration/orchestrator.go `NewOrchestrator`, `UpdateConfig`).
 * So proxflare, once it has adopted such a tunnel, keeps the configuration Cloudflare holds equal
 * to the ingress of the config.yml it renders (PUT …/configurations, one replace), or a route
 * change in the inventory would never reach the connectors. Adopting changes no route: the
 * imported inventory renders the ingress the tunnel serves today. Pure.
 */
export interface RemoteConfigInput {
  tunnelName: string;
  accountId: string;
  tunnel: TunnelState | undefined;
  remote: RemoteTunnelConfig | undefined;
  /** The config.yml this plan renders ('' when the plan has errors). */
  configYml: string;
  /** Every connector host as read (a config.yml of ours on one means the tunnel was adopted before). */
  hosts: (ConnectorState | undefined)[];
  adopt: boolean;
}

export interface RemoteConfigPlan {
  change: TunnelConfigChange | undefined;
  conflicts: Conflict[];
}

export function planRemoteConfig(input: RemoteConfigInput): RemoteConfigPlan {
  const { tunnel } = input;
  if (!tunnel || tunnel.configSrc !== 'cloudflare' || input.configYml === '') return { change: undefined, conflicts: [] };
  const address = `${tunnelAddress(input.tunnelName)}/configuration`;
  const adopted = input.hosts.some((h) => {
    const config = h?.files.get(MANAGED_PATHS.config);
    return config !== undefined && isOurFile(config.content);
  });
  if (!adopted && !input.adopt) {
    return {
      change: undefined,
      conflicts: [
        {
          address,
          message: `tunnel ${input.tunnelName} is remotely managed (config_src cloudflare): Cloudflare pushes its own ingress to every connector, over any config.yml`,
          hint: "adopt it on purpose with `sync --adopt`: proxflare then keeps Cloudflare's configuration equal to the inventory's ingress (the API cannot make the tunnel locally managed)",
        },
      ],
    };
  }
  const after = remoteConfigOf(input.configYml);
  const before = input.remote
    ? { ingress: input.remote.ingress, ...(input.remote.originRequest ? { originRequest: input.remote.originRequest } : {}) }
    : undefined;
  const same = before !== undefined && sameConfig(before, after);
  const action = same && adopted ? 'noop' : 'update';
  const reason = !adopted
    ? 'adopt (--adopt): remotely managed, and the API cannot make it locally managed; from now on proxflare keeps its configuration on Cloudflare equal to config.yml' +
      (same ? ' (the ingress is unchanged)' : '')
    : same
      ? 'matches config.yml'
      : "Cloudflare's configuration differs from config.yml; the edge would push it over the file";
  return {
    change: {
      kind: 'tunnel-config',
      address,
      action,
      reason,
      accountId: input.accountId,
      tunnelId: tunnel.id,
      version: input.remote?.version,
      before,
      after,
    },
    conflicts: [],
  };
}

export interface RemoteConfigBody {
  ingress: RemoteIngressRule[];
  originRequest?: Record<string, unknown>;
}

/** Durations cloudflared's remote JSON carries as integer seconds (cloudflare.md §2.2), config.yml as Go durations. */
const DURATION_KEYS = new Set(['connectTimeout', 'tlsTimeout', 'tcpKeepAlive', 'keepAliveTimeout', 'proxyConnectTimeout']);

/** The `configurations` body for the rendered config.yml: its ingress and tunnel-wide originRequest, durations in seconds. */
export function remoteConfigOf(configYml: string): RemoteConfigBody {
  const doc = (parseYaml(configYml) ?? {}) as { ingress?: RemoteIngressRule[]; originRequest?: Record<string, unknown> };
  const ingress = (doc.ingress ?? []).map((r) => {
    const origin = r.originRequest ? seconds(r.originRequest) : undefined;
    return {
      ...(r.hostname ? { hostname: r.hostname } : {}),
      ...(r.path ? { path: r.path } : {}),
      service: r.service,
      ...(origin && Object.keys(origin).length > 0 ? { originRequest: origin } : {}),
    };
  });
  const originRequest = doc.originRequest ? seconds(doc.originRequest) : undefined;
  return { ingress, ...(originRequest && Object.keys(originRequest).length > 0 ? { originRequest } : {}) };
}

function seconds(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => {
      if (!DURATION_KEYS.has(k) || typeof v !== 'string') return [k, v];
      const ns = parseGoDuration(v);
      return [k, ns === undefined ? v : Math.round(ns / 1e9)];
    }),
  );
}

/**
 * Same routing: the same rules (an empty originRequest is none), and every two rules a request
 * could both match in the same order (cloudflared takes the first match). Rules for two different
 * exact hostnames never compete, so their order (the dashboard's, or proxflare's sorted one) is free.
 */
function sameConfig(a: RemoteConfigBody, b: RemoteConfigBody): boolean {
  const key = (r: RemoteIngressRule) => JSON.stringify(canonical(r));
  const ka = a.ingress.map(key);
  const kb = b.ingress.map(key);
  if (JSON.stringify(canonical(a.originRequest ?? {})) !== JSON.stringify(canonical(b.originRequest ?? {}))) return false;
  if (ka.length !== kb.length || new Set(ka).size !== ka.length || [...ka].sort().join('\n') !== [...kb].sort().join('\n')) return false;
  for (let i = 0; i < a.ingress.length; i++) {
    for (let j = i + 1; j < a.ingress.length; j++) {
      if (competes(a.ingress[i]!, a.ingress[j]!) && kb.indexOf(ka[i]!) > kb.indexOf(ka[j]!)) return false;
    }
  }
  return true;
}

function competes(x: RemoteIngressRule, y: RemoteIngressRule): boolean {
  const exact = (h: string | undefined) => h !== undefined && h !== '' && !h.includes('*');
  return !(exact(x.hostname) && exact(y.hostname) && x.hostname!.toLowerCase() !== y.hostname!.toLowerCase());
}

function canonical(c: unknown): unknown {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .filter(([, x]) => !(x !== null && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 0))
              .sort(([x], [y]) => byCodePoint(x, y))
              .map(([k, x]) => [k, sorted(x)]),
          )
        : v;
  return sorted(c);
}
