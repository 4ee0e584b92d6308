import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { generateEd25519Key } from '../../src/sim/ssh/generate-key.js';
import type { CliIo } from '../../src/cli/io.js';
import { RecordingReporter } from '../../src/core/reporter.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { Inventory } from '../../src/inventory/types.js';
import type { Ports } from '../../src/sync/ports.js';
import { InMemoryCloudflare } from '../fakes/in-memory-cloudflare.js';
import { InMemoryConnector } from '../fakes/in-memory-connector.js';
import { InMemoryProxmox } from '../fakes/in-memory-proxmox.js';

export const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
/** Distinctive values, so tests can prove they never reach any output. */
export const PVE_SECRET = '5f0c2b1e-9d7a-4c3b-8e6f-1a2b3c4d5e6f';
export const CF_TOKEN = 'cf-token-SHOULD-NEVER-BE-PRINTED-0123456789';

export const BASE_INVENTORY = `
proxmox:
  url: https://pve.example.net:8006
  tokenId: proxflare@pve!cli
  tokenSecret: \${PVE_TOKEN_SECRET}
  fingerprint: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
  node: pve
cloudflare:
  apiToken: \${CLOUDFLARE_API_TOKEN}
  accountId: ${ACCOUNT_ID}
  zone: example.com
tunnel:
  name: homelab
connector:
  hostname: cloudflared
  template: local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst
  storage: local-lvm
  ssh:
    privateKey: KEYDIR/id_ed25519
guests:
  - name: jellyfin
    type: lxc
    vmid: 101
    services:
      - hostname: media.example.com
        port: 8096
  - name: nextcloud
    type: vm
    vmid: 200
    ip: 192.0.2.20
    services:
      - hostname: cloud.example.com
        port: 443
        scheme: https
        originRequest:
          noTLSVerify: true
`;

export interface FakeHomelab {
  dir: string;
  file: string;
  proxmox: InMemoryProxmox;
  cloudflare: InMemoryCloudflare;
  connector: InMemoryConnector;
  ports: Ports;
  /** Every call to the three fakes, in order: `proxmox createLxc`, `connector deploy ...`, `cloudflare applyDnsChanges ...`. */
  effects: string[];
  env: NodeJS.ProcessEnv;
  load(): Promise<Inventory>;
  write(yaml: string): Promise<void>;
  /** Run the CLI in-process against the fakes. */
  cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The same, as if on a terminal whose user answers `answer` to the confirmation. */
  tty(answer: boolean, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; asked: string[] }>;
}

export async function fakeHomelab(yaml = BASE_INVENTORY): Promise<FakeHomelab> {
  const dir = await mkdtemp(join(tmpdir(), 'proxflare-fake-'));
  const file = join(dir, 'inventory.yaml');
  // A real key pair: sync checks the key files before it reads or writes anything.
  const key = generateEd25519Key('fake-homelab');
  await writeFile(join(dir, 'id_ed25519'), key.private, { mode: 0o600 });
  await writeFile(join(dir, 'id_ed25519.pub'), `${key.public}\n`);
  const env = { PVE_TOKEN_SECRET: PVE_SECRET, CLOUDFLARE_API_TOKEN: CF_TOKEN, PROXFLARE_LOCK_DIR: dir };
  const proxmox = new InMemoryProxmox();
  proxmox.guestIps.set('jellyfin', { ok: true, ip: '192.0.2.11', source: 'interfaces' });
  const cloudflare = new InMemoryCloudflare(ACCOUNT_ID, ['example.com']);
  const connector = new InMemoryConnector();
  const effects: string[] = [];
  proxmox.effects = cloudflare.effects = connector.effects = effects;
  const ports: Ports = { proxmox, cloudflare, connect: connector.connect, close: async () => {} };
  const lab: FakeHomelab = {
    dir,
    file,
    proxmox,
    cloudflare,
    connector,
    ports,
    effects,
    env,
    load: () => loadInventory(file, { env }),
    write: (y) => writeFile(file, y.replace('KEYDIR', dir)),
    async cli(...args) {
      const { asked: _asked, ...rest } = await runFakeCli(file, dir, env, ports, false, false, args);
      return rest;
    },
    tty: (answer, ...args) => runFakeCli(file, dir, env, ports, true, answer, args),
  };
  await lab.write(yaml);
  return lab;
}

async function runFakeCli(
  file: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  ports: Ports,
  isTTY: boolean,
  answer: boolean,
  args: string[],
) {
  let stdout = '';
  let stderr = '';
  const asked: string[] = [];
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    cwd: dir,
    isTTY,
    confirm: async (q) => {
      asked.push(q);
      return answer;
    },
    createPorts: () => ports,
  };
  const code = await main(['node', 'proxflare', '-i', file, ...args], io);
  return { code, stdout, stderr, asked };
}

export { RecordingReporter };
