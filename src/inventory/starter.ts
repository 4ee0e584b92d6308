/**
 * What `proxflare init` writes. The starter must load as soon as the variables from
 * `.env.example` are set (a unit test holds it to that), so every value is valid.
 */

export const ENV_VARIABLES = [
  ['PVE_TOKEN_ID', 'Proxmox API token id, user@realm!tokenname (pveum user token add proxflare@pve cli)'],
  ['PVE_TOKEN_SECRET', 'Proxmox API token secret: the lower-case UUID printed once by pveum'],
  ['CLOUDFLARE_API_TOKEN', 'Cloudflare API token with Account > Cloudflare Tunnel > Edit and Zone > DNS > Edit'],
  ['CLOUDFLARE_ACCOUNT_ID', 'Cloudflare account id (32 hex characters, dashboard > Overview)'],
] as const;

export function envExample(): string {
  const lines = [
    '# Secrets for inventory.yaml. Copy to .env (next to inventory.yaml) and fill in.',
    '# .env is read by proxflare; variables already exported in the shell win.',
    '# Never commit .env.',
    '',
  ];
  for (const [name, description] of ENV_VARIABLES) lines.push(`# ${description}`, `${name}=`, '');
  return lines.join('\n');
}

export function starterInventory(): string {
  return `# yaml-language-server: $schema=./inventory.schema.json
#
# proxflare inventory: one file for your homelab's public entry point.
#   proxflare validate          check this file (no network)
#   proxflare sync --dry-run    show what would change
#   proxflare sync              make it so
# Secrets come from the environment or from .env next to this file: \${NAME}
# (or \${NAME:-default}); write $\${ for a literal "\${".

proxmox:
  # The Proxmox VE API. The port defaults to 8006.
  url: https://pve.lan:8006
  tokenId: \${PVE_TOKEN_ID}             # user@realm!tokenname
  tokenSecret: \${PVE_TOKEN_SECRET}     # lower-case UUID, keep it in .env
  # Pin the node's self-signed certificate instead of turning TLS checks off.
  # Get it with: pvenode cert info   (the SHA-256 fingerprint)
  # fingerprint: "AB:CD:...:EF"
  node: pve                            # default node for the connector and guests

cloudflare:
  apiToken: \${CLOUDFLARE_API_TOKEN}
  accountId: \${CLOUDFLARE_ACCOUNT_ID}
  zone: example.com                    # or: zones: [example.com, example.org]

tunnel:
  name: homelab
  # protocol: http2                    # auto (default), quic, or http2 where UDP is blocked
  # logLevel: info                     # debug, info, warn, error, fatal
  # originRequest:                     # defaults for every route; a route's own keys win
  #   connectTimeout: 10s
  # catchAll: 404                      # what requests no route matches get

# The dedicated LXC that runs cloudflared. proxflare creates it and keeps it configured.
connector:
  hostname: cloudflared
  template: debian-12                  # newest debian-12-standard of the node; or pin: local:vztmpl/<file>
  storage: local-lvm
  # disk: 4          # GiB
  # memory: 512      # MiB
  # cores: 1
  network:
    bridge: vmbr0
    ip: dhcp                           # or a static address:
    # ip: 192.168.1.50/24
    # gw: 192.168.1.1
    # vlan: 20
  ssh:
    user: root
    privateKey: ~/.ssh/id_ed25519      # its .pub is put into the LXC at creation
  # Offline? Upload a local package instead of using Cloudflare's apt repository:
  # cloudflared:
  #   source: deb
  #   path: ./cloudflared-linux-amd64.deb

# The guests whose services you publish. To add a service, add three lines under
# an existing guest's services:
#       - hostname: app.example.com
#         port: 8080
guests:
  - name: jellyfin
    type: lxc                          # lxc or vm
    vmid: 101
    services:
      - hostname: media.example.com
        port: 8096                     # scheme defaults to http

  - name: nextcloud
    type: vm
    vmid: 200
    ip: 192.168.1.20                   # optional; otherwise read from Proxmox
    services:
      - hostname: cloud.example.com
        port: 443
        scheme: https
        originRequest:
          noTLSVerify: true            # the origin uses a self-signed certificate

# Machines that are not Proxmox guests (a NAS, a router, the Proxmox node itself),
# published by address: no Proxmox lookup.
hosts:
  # The Proxmox web UI. The node's address is refused unless \`proxmoxNode: true\` says it
  # is meant. This is the hypervisor's login page: protect it with Cloudflare Access
  # (until then every plan warns loudly).
  - name: pve
    address: 192.168.1.2               # the node's LAN address (or a name the connector resolves)
    proxmoxNode: true
    services:
      - hostname: pve.example.com
        port: 8006
        scheme: https
        originRequest:
          noTLSVerify: true            # Proxmox's self-signed certificate

# settings:
#   maxDeletes: 5                      # more deletes need --allow-mass-delete
`;
}
