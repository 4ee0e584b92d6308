// A namespace import lets the bundler leave out what is not used (the named `z` carries every locale).
import * as z from 'zod';
import { accessSchema, serviceAccessSchema } from './access-schema.js';

/**
 * The inventory as written in YAML (after `${VAR}` expansion). Shape, types, ranges and
 * single-field formats live here, so the JSON Schema editors use says the same thing as
 * `proxflare validate`; rules that span fields are in `checks.ts`.
 */

const HINT = '\u001f';

/** A zod error message that carries a separate "how to fix it" hint. */
export function withHint(message: string, hint: string): string {
  return `${message}${HINT}${hint}`;
}

export function splitHint(text: string): { message: string; hint?: string } {
  const cut = text.indexOf(HINT);
  return cut === -1 ? { message: text } : { message: text.slice(0, cut), hint: text.slice(cut + 1) };
}

const d = (description: string, examples?: unknown[]) => (examples ? { description, examples } : { description });

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const port = () => int(1, 65535);
const nodeName = () =>
  z
    .string()
    .regex(
      /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/,
      withHint('is not a valid Proxmox node name', 'use the node name shown in the Proxmox UI, e.g. pve'),
    );
const vmid = () =>
  z
    .number()
    .int()
    .min(100, withHint('vmid must be between 100 and 999999999', 'Proxmox reserves ids below 100'))
    .max(999999999, withHint('vmid must be between 100 and 999999999', 'use the id shown next to the guest in Proxmox'));

export const ORIGIN_REQUEST_KEYS = [
  'connectTimeout',
  'tlsTimeout',
  'tcpKeepAlive',
  'noHappyEyeballs',
  'keepAliveConnections',
  'keepAliveTimeout',
  'httpHostHeader',
  'originServerName',
  'matchSNItoHost',
  'caPool',
  'noTLSVerify',
  'disableChunkedEncoding',
  'bastionMode',
  'proxyAddress',
  'proxyPort',
  'proxyType',
  'ipRules',
  'http2Origin',
  'access',
] as const;

const duration = (what: string) =>
  z
    .string()
    .regex(
      // Go's time.ParseDuration grammar (cloudflared reads these with it), without signs: timeouts are never negative.
      /^(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)$/,
      withHint('is not a Go duration', 'write it like 30s, 1m30s or 500ms (quotes optional)'),
    )
    .meta(d(what, ['30s']));

export const originRequestSchema = z
  .strictObject({
    connectTimeout: duration('Timeout for establishing a new TCP connection to the origin (cloudflared default 30s).').optional(),
    tlsTimeout: duration('Timeout for the TLS handshake with the origin (default 10s).').optional(),
    tcpKeepAlive: duration('TCP keep-alive interval towards the origin (default 30s).').optional(),
    noHappyEyeballs: z.boolean().meta(d('Disable the happy-eyeballs IPv4/IPv6 fallback.')).optional(),
    keepAliveConnections: int(0, 1_000_000).meta(d('Idle keep-alive connections kept open to the origin (default 100).')).optional(),
    keepAliveTimeout: duration('How long idle keep-alive connections stay open (default 1m30s).').optional(),
    httpHostHeader: z.string().meta(d('Host header sent to the origin instead of the public hostname.')).optional(),
    originServerName: z.string().meta(d('Hostname expected on the origin certificate.')).optional(),
    matchSNItoHost: z.boolean().meta(d('Use the request Host as TLS SNI towards the origin.')).optional(),
    caPool: z.string().meta(d('Path on the connector of a CA bundle for verifying the origin certificate.')).optional(),
    noTLSVerify: z.boolean().meta(d('Accept any origin certificate (self-signed https origins such as Proxmox itself).')).optional(),
    disableChunkedEncoding: z.boolean().meta(d('Disable chunked transfer encoding (some WSGI servers need this).')).optional(),
    bastionMode: z.boolean().meta(d('Run this rule as a jump host (bastion).')).optional(),
    proxyAddress: z.string().meta(d("Listen address of cloudflared's local proxy (default 127.0.0.1).")).optional(),
    proxyPort: int(0, 65535).meta(d("Listen port of cloudflared's local proxy (0 = random).")).optional(),
    proxyType: z.enum(['', 'socks']).meta(d('Local proxy type: empty for a regular proxy or "socks".')).optional(),
    ipRules: z
      .array(
        z.strictObject({
          prefix: z.string().meta(d('CIDR the rule applies to.', ['10.0.0.0/8'])),
          ports: z.array(port()).meta(d('Ports the rule applies to (empty = all).')).optional(),
          allow: z.boolean().meta(d('Allow (true) or deny (false) matching destinations.')),
        }),
      )
      .meta(d('SOCKS proxy allow/deny rules, evaluated in order.'))
      .optional(),
    http2Origin: z.boolean().meta(d('Talk HTTP/2 to the origin.')).optional(),
    access: z
      .strictObject({
        required: z.boolean().meta(d('Reject requests without a valid Cloudflare Access JWT.')).optional(),
        teamName: z.string().meta(d('Zero Trust team name (needed when audTag is set).')).optional(),
        audTag: z.array(z.string()).meta(d('Access application audience tags.')).optional(),
        environment: z.string().meta(d('Access environment (cloudflared 2025.5+).')).optional(),
      })
      .meta(d('Validate Cloudflare Access tokens at the connector.'))
      .optional(),
  })
  .meta(d('cloudflared originRequest options for this route (see cloudflared docs); keys are checked.'));

export const SCHEMES = [
  'http',
  'https',
  'tcp',
  'ssh',
  'rdp',
  'unix',
  'unix+tls',
  'http_status',
  'hello_world',
  'bastion',
  'socks',
] as const;

export const serviceSchema = z.strictObject({
  hostname: z
    .string()
    .meta(
      d(
        'Public hostname (in one of the zones), or *.domain for a wildcard. Leave it out for a path rule that applies to every hostname of the tunnel (needs `path`).',
        ['media.example.com'],
      ),
    )
    .optional(),
  port: port()
    .meta(d('Port of the service on the guest or host (for http, https, tcp, ssh, rdp).', [8096]))
    .optional(),
  scheme: z
    .enum(SCHEMES)
    .default('http')
    .meta(
      d(
        "How cloudflared talks to the origin: http, https, tcp, ssh, rdp (to the guest or host); unix, unix+tls (a socket on the connector); http_status (a fixed answer); hello_world (cloudflared's test page); bastion (jump host: the client picks the destination); socks (a SOCKS proxy limited by originRequest.ipRules).",
      ),
    ),
  path: z
    .string()
    .min(1)
    .meta(d('Only requests whose path matches this regular expression (cloudflared path rule).', ['^/api/']))
    .optional(),
  socket: z.string().min(1).meta(d('For scheme unix or unix+tls: the socket path on the connector.')).optional(),
  status: int(100, 999)
    .meta(d('For scheme http_status: the HTTP status code returned.', [404]))
    .optional(),
  originRequest: originRequestSchema.optional(),
  access: serviceAccessSchema.optional(),
});

export const guestSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .meta(d('Guest name (as in Proxmox); used in messages.', ['jellyfin'])),
  type: z.enum(['lxc', 'vm']).meta(d('lxc for a container, vm for a QEMU virtual machine.')),
  vmid: vmid().meta(d('Proxmox id of the guest.', [101])),
  node: nodeName().meta(d('Proxmox node of the guest (default: proxmox.node).')).optional(),
  ip: z
    .string()
    .meta(d('Static origin address; otherwise discovered from Proxmox (LXC interfaces / QEMU guest agent).', ['192.168.1.20']))
    .optional(),
  interface: z
    .string()
    .min(1)
    .meta(d('Interface to take the discovered address from.', ['eth0']))
    .optional(),
  services: z.array(serviceSchema).default([]).meta(d('Public routes to this guest.')),
});

export const hostSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .meta(d('Name of the machine; used in messages and `proxflare graph`. Unique across guests and hosts.', ['nas'])),
  address: z
    .string()
    .min(1)
    .meta(d('IP address, or a DNS name the connector resolves. No Proxmox lookup is made.', ['192.168.1.5', 'nas.lan'])),
  proxmoxNode: z
    .boolean()
    .default(false)
    .meta(
      d(
        "Says on purpose that this is a Proxmox node (e.g. to publish its web UI); otherwise a node's address is refused. Publish it behind Access.",
      ),
    ),
  services: z.array(serviceSchema).default([]).meta(d('Public routes to this host.')),
});

export const proxmoxSchema = z.strictObject({
  url: z.string().meta(d('Proxmox API URL; port defaults to 8006.', ['https://pve.lan:8006'])),
  tokenId: z
    .string()
    .regex(
      /^[^\s:/@]+@[^\s:/!@]+![A-Za-z][A-Za-z0-9._-]+$/,
      withHint(
        'must look like user@realm!tokenname',
        'create one with `pveum user token add proxflare@pve cli` and use the printed full-tokenid',
      ),
    )
    .meta(d('API token id, user@realm!tokenname.', ['proxflare@pve!cli'])),
  tokenSecret: z
    .string()
    .regex(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      withHint(
        'must be a lower-case UUID (the proxmox-api client throws otherwise)',
        'use the value printed by `pveum user token add`, written in lower case; keep it in .env as ${PVE_TOKEN_SECRET}',
      ),
    )
    .meta(d('API token secret (a lower-case UUID). Keep it in .env and write ${PVE_TOKEN_SECRET}.', ['${PVE_TOKEN_SECRET}'])),
  fingerprint: z
    .string()
    .regex(
      /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/,
      withHint(
        'must be a SHA-256 fingerprint: 32 hex bytes separated by colons',
        'run `pvenode cert info` on the node and copy the SHA-256 fingerprint',
      ),
    )
    .meta(d('SHA-256 fingerprint of the node certificate to pin (self-signed certs) instead of disabling TLS checks.', ['AB:CD:...']))
    .optional(),
  insecure: z.boolean().default(false).meta(d('Skip TLS verification entirely (escape hatch; prefer fingerprint).')),
  node: nodeName().meta(d('Default Proxmox node for the connector and guests.', ['pve'])),
  // A PVE node answers API calls with a few worker processes (pve-manager
  // PVE/Service/pveproxy.pm and pvedaemon.pm: `max_workers => 3`); more requests in flight
  // than that only queue on the node, and the default 8 keeps a little overlap for latency.
  concurrency: int(1, 32)
    .default(8)
    .meta(
      d(
        'Most Proxmox API requests in flight while reading (guest address discovery). A node serves the API with a few worker processes; more in flight only queues there.',
      ),
    ),
});

export const cloudflareSchema = z.strictObject({
  apiToken: z
    .string()
    .min(1)
    .meta(d('API token with Account.Cloudflare Tunnel:Edit and Zone.DNS:Edit. Keep it in .env.', ['${CLOUDFLARE_API_TOKEN}'])),
  accountId: z
    .string()
    .regex(
      /^[0-9a-fA-F]{32}$/,
      withHint('must be 32 hex characters', 'copy the Account ID from the Overview page of the Cloudflare dashboard'),
    )
    .meta(d('Cloudflare account id (32 hex characters).')),
  zone: z
    .string()
    .meta(d('The DNS zone the hostnames live in.', ['example.com']))
    .optional(),
  zones: z.array(z.string()).min(1).meta(d('Several zones instead of `zone`.')).optional(),
  baseUrl: z.string().meta(d('Override the API base URL (simulator, tests).')).optional(),
});

export const tunnelSchema = z.strictObject({
  name: z.string().meta(d('Name of the Cloudflare Tunnel.', ['homelab'])),
  // Values and defaults as cloudflared reads them (cmd/cloudflared/tunnel/cmd.go, connection/protocol.go,
  // cmd/cloudflared/tunnel/configuration.go parseConfigIPVersion, cmd/cloudflared/cliutil/logger.go).
  protocol: z
    .enum(['auto', 'quic', 'http2'])
    .meta(d('Transport to the Cloudflare edge (cloudflared `protocol`, default auto).', ['http2']))
    .optional(),
  edgeIpVersion: z
    .union([z.enum(['auto', '4', '6']), z.literal([4, 6])])
    .meta(d('IP version used to reach the edge: auto, 4 or 6 (cloudflared `edge-ip-version`, default auto).', ['4']))
    .optional(),
  logLevel: z
    .enum(['debug', 'info', 'warn', 'error', 'fatal'])
    .meta(d('cloudflared `loglevel` (default info).', ['warn']))
    .optional(),
  gracePeriod: duration(
    'How long cloudflared waits for in-flight requests when stopping (cloudflared `grace-period`, default 30s).',
  ).optional(),
  retries: int(0, 1000)
    .meta(d('Retries on connection or protocol errors before giving up (cloudflared `retries`, default 5).', [5]))
    .optional(),
  originRequest: originRequestSchema
    .meta(d("originRequest defaults for every route; a route's own originRequest overrides them key by key, as cloudflared does."))
    .optional(),
  catchAll: z
    .union([int(100, 999), z.string().min(1)])
    .default(404)
    .meta(
      d(
        'What requests no route matches get: an HTTP status code, or a cloudflared service (`hello_world`, `http_status:503`, `http://192.168.1.9:80`).',
        [404, 'http_status:503'],
      ),
    ),
});

export const networkSchema = z.strictObject({
  bridge: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,15}$/, withHint('is not a valid bridge name', 'use the Linux bridge of the LAN, e.g. vmbr0'))
    .default('vmbr0')
    .meta(d("Proxmox bridge for the connector's eth0.")),
  ip: z
    .string()
    .default('dhcp')
    .meta(d('dhcp, or a static IPv4 address with prefix length.', ['dhcp', '192.168.1.50/24'])),
  gw: z
    .string()
    .meta(d('IPv4 gateway for a static ip.', ['192.168.1.1']))
    .optional(),
  vlan: int(1, 4094)
    .meta(d('VLAN tag (1-4094).', [20]))
    .optional(),
});

export const sshSchema = z.strictObject({
  user: z.string().min(1).default('root').meta(d('SSH user on the connector.')),
  port: port().default(22).meta(d('SSH port of the connector.')),
  privateKey: z.string().min(1).default('~/.ssh/id_ed25519').meta(d('Private key used to log in to the connector.')),
  publicKey: z.string().min(1).meta(d('Public key injected into the LXC at creation (default: <privateKey>.pub).')).optional(),
  knownHosts: z.string().min(1).default('~/.config/proxflare/known_hosts').meta(d("known_hosts file pinning the connector's host key.")),
  trustOnFirstUse: z.boolean().default(false).meta(d('Record an unknown host key on first connection instead of refusing.')),
  host: z.string().min(1).meta(d('Connect to this address instead of the discovered LXC address.')).optional(),
  jump: z
    .strictObject({
      host: z
        .string()
        .min(1)
        .meta(d('Jump host, usually the Proxmox node.', ['pve.lan'])),
      port: port().default(22).meta(d('SSH port of the jump host.')),
      user: z.string().min(1).default('root').meta(d('SSH user on the jump host.')),
    })
    .meta(d('Reach the connector through this host.'))
    .optional(),
});

export const cloudflaredSchema = z.strictObject({
  source: z.enum(['apt', 'deb']).default('apt').meta(d("apt: Cloudflare's package repository; deb: upload a local .deb (offline).")),
  path: z
    .string()
    .min(1)
    .meta(d('For source deb: the local .deb file to upload.', ['./cloudflared-linux-amd64.deb']))
    .optional(),
  version: z
    .string()
    .min(1)
    .meta(d('Pin this cloudflared version.', ['2026.8.2']))
    .optional(),
});

/** One cloudflared LXC of a tunnel with several; its values override the connector's shared defaults. */
export const replicaSchema = z.strictObject({
  hostname: z.string().meta(d("Hostname of this replica's LXC (a single DNS label).", ['cloudflared-1'])),
  node: nodeName()
    .meta(d('Proxmox node for this replica (default: connector.node, then proxmox.node).', ['pve2']))
    .optional(),
  vmid: vmid()
    .meta(d('Fixed vmid of this replica.', [151]))
    .optional(),
  storage: z.string().min(1).meta(d("Storage for this replica's root disk (default: connector.storage).")).optional(),
  network: networkSchema.meta(d('Network of this replica (default: connector.network; a static ip needs one per replica).')).optional(),
  sshHost: z.string().min(1).meta(d('Address proxflare logs in to for this replica (default: its address read from Proxmox).')).optional(),
  standby: z.boolean().default(false).meta(d('Installed and configured, service stopped and disabled; set false to promote it.')),
});

export const connectorSchema = z.strictObject({
  hostname: z.string().default('cloudflared').meta(d('Hostname of the connector LXC (a single DNS label).')),
  node: nodeName().meta(d('Proxmox node for the connector (default: proxmox.node).')).optional(),
  vmid: vmid()
    .meta(d('Fixed vmid; otherwise the next free id at creation.', [150]))
    .optional(),
  template: z
    .string()
    .regex(
      /^(?:[a-z][a-z0-9]*-\d+(?:\.\d+)*|[a-zA-Z][a-zA-Z0-9_.-]*:.+)$/,
      withHint(
        'must be an OS and release like debian-12, or a template volume id like local:vztmpl/<file>',
        'write debian-12, debian-13 or ubuntu-24.04 to use the newest matching template of the node, or list downloaded ones with `pveam list local`',
      ),
    )
    .superRefine((value, ctx) => {
      // PVE refuses `local:<file>` at create time (content type needs to be 'vztmpl'); say so now.
      const m = /^([a-zA-Z][a-zA-Z0-9_.-]*):(?!vztmpl\/)(.+)$/.exec(value);
      if (m)
        ctx.addIssue({
          code: 'custom',
          message: withHint(
            'is a volume id without the content type vztmpl/ (Proxmox refuses it)',
            `write ${m[1]}:vztmpl/${m[2]}, or just debian-12 to use the newest template of the node`,
          ),
        });
    })
    .default('debian-12')
    .meta(
      d(
        'Container template: an OS and release (resolved on the node to the newest `<os>-standard_*` template of its appliance index), or a volume id to pin one.',
        ['debian-12', 'debian-13', 'ubuntu-24.04', 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst'],
      ),
    ),
  storage: z
    .string()
    .regex(
      /^[a-zA-Z][a-zA-Z0-9_.-]*[a-zA-Z0-9]$/,
      withHint('is not a valid storage id', 'use a storage that holds container disks, e.g. local-lvm'),
    )
    .meta(d('Storage for the root disk.', ['local-lvm'])),
  disk: int(1, 1024).default(4).meta(d('Root disk size in GiB.')),
  memory: int(64, 65536).default(512).meta(d('Memory in MiB.')),
  swap: int(0, 65536).default(512).meta(d('Swap in MiB.')),
  cores: int(1, 64).default(1).meta(d('CPU cores.')),
  onboot: z.boolean().default(true).meta(d('Start the connector when the node boots.')),
  network: networkSchema.prefault({}).meta(d('Network of the connector.')),
  ssh: sshSchema.prefault({}).meta(d('How proxflare logs in to the connector.')),
  cloudflared: cloudflaredSchema.prefault({}).meta(d('Where cloudflared is installed from.')),
  tag: z
    .string()
    .regex(/^[a-z0-9_][a-z0-9_+.-]*$/, withHint('is not a valid Proxmox tag', 'use lower-case letters, digits, _ - + .'))
    .default('proxflare')
    .meta(d('Proxmox tag marking the connector as ours.')),
  healthTimeout: int(1, 3600)
    .default(30)
    .meta(
      d(
        'Seconds a restarted cloudflared has to answer /ready with 200; past it, that replica gets its previous files back and the apply stops.',
      ),
    ),
  replicas: z
    .array(replicaSchema)
    .min(1)
    // Cloudflare runs at most 25 replicas (connectors) per tunnel (access-ha-health.md §2).
    .max(25, withHint('is more than 25 replicas', 'Cloudflare allows at most 25 connectors per tunnel'))
    .meta(
      d(
        'Several cloudflared LXCs with the same tunnel credentials and config; the fields above are their shared defaults and `connector.hostname` is not used.',
      ),
    )
    .optional(),
});

export const settingsSchema = z.strictObject({
  allowLoopbackOrigins: z.boolean().default(false).meta(d('Allow origins on 127.0.0.0/8 (only the demo needs this).')),
  maxDeletes: int(0, 100_000).default(5).meta(d('Most of our DNS records one sync may delete without --allow-mass-delete.')),
  ownerComment: z
    .string()
    .max(40)
    .meta(d('Extra text in the DNS ownership comment (Free plan comments are limited to 100 characters).', ['homelab-a']))
    .optional(),
});

export const inventorySchema = z
  .strictObject({
    proxmox: proxmoxSchema.meta(d('The Proxmox VE API.')),
    cloudflare: cloudflareSchema.meta(d('The Cloudflare account and zone(s).')),
    tunnel: tunnelSchema.meta(d('The Cloudflare Tunnel.')),
    connector: connectorSchema.meta(d('The dedicated cloudflared LXC.')),
    access: accessSchema.optional(),
    guests: z.array(guestSchema).default([]).meta(d('Guests whose services are published.')),
    hosts: z
      .array(hostSchema)
      .default([])
      .meta(d('Machines outside Proxmox guests (a NAS, a router, the Proxmox node itself) whose services are published.')),
    settings: settingsSchema.prefault({}).meta(d('Safety settings.')),
  })
  .meta({
    title: 'proxflare inventory',
    description: 'One file describing the homelab entry point: Proxmox, Cloudflare, the connector and the published services.',
  });

export type InventoryInput = z.output<typeof inventorySchema>;
export type ServiceInput = z.output<typeof serviceSchema>;
