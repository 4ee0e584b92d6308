import type { SimLxcBackend } from './lxc-backend.js';
import { hasPriv, requirePriv } from './permissions.js';
import type { ParamValue } from './schema-validate.js';
import {
  type ConfigValue,
  normalizeTags,
  parseNet,
  printNet,
  SimError,
  type SimGuest,
  type SimState,
  type SimStorage,
  type SimTask,
  storageOnNode,
  templatesOn,
  type SimToken,
} from './sim-state.js';

export interface HandlerContext {
  state: SimState;
  params: Record<string, ParamValue>;
  token: SimToken;
  backend: SimLxcBackend | undefined;
  /** Starts a worker task: `work` runs after the configured task duration. */
  runTask(node: string, type: string, id: string, token: SimToken, work: (task: SimTask) => Promise<void> | void): SimTask;
  /** Next address for a started container without a static ip and without a backend. */
  allocateIp(): string;
  /** pvestatd's refresh interval; 0 = /cluster/resources shows live status (tests that do not care). */
  statusRefreshMs: number;
  /** How long a worker or a config update waits for a CT's flock (lock_config: 10 s). */
  flockTimeoutMs: number;
  /** Resolves after `ms` (or never, until the sim closes); the sim's own timers. */
  sleep(ms: number): Promise<void>;
  /** How long qemu-ga is waited for before `got timeout` (QMPClient default 5 s). */
  agentTimeoutMs: number;
  /** Emit vmids in /cluster/resources as strings (seen in the wild, README-pve §9.6). */
  vmidAsString: boolean;
  /** Seeded online and not switched offline by a fault. */
  nodeOnline(name: string): boolean;
}

export type Handler = (ctx: HandlerContext) => Promise<unknown> | unknown;

const str = (v: ParamValue | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);
const num = (v: ParamValue | undefined): number | undefined => (v === undefined ? undefined : Number(str(v)));

function guestOn(ctx: HandlerContext, kind: 'lxc' | 'qemu'): SimGuest {
  const node = str(ctx.params.node)!;
  const vmid = num(ctx.params.vmid)!;
  const g = ctx.state.guests.get(vmid);
  if (!g || g.type !== kind || g.node !== node) {
    const file = kind === 'lxc' ? `nodes/${node}/lxc/${vmid}.conf` : `nodes/${node}/qemu-server/${vmid}.conf`;
    throw new SimError(500, `Configuration file '${file}' does not exist`);
  }
  return g;
}

function resourceRow(ctx: HandlerContext, g: SimGuest): Record<string, unknown> {
  const nodeOnline = ctx.nodeOnline(g.node);
  const row: Record<string, unknown> = {
    id: `${g.type}/${g.vmid}`,
    vmid: ctx.vmidAsString ? String(g.vmid) : g.vmid,
    node: g.node,
    type: g.type,
    template: 0,
  };
  // Name and status come from RRD data pushed by pvestatd (pve-manager PVE/API2Tools.pm extract_vm_stats,
  // default status 'unknown'): missing for offline nodes and for guests no cycle has seen yet, and
  // lagging start/stop by up to one cycle (README-pve §4.14 "How stale /cluster/resources can be").
  const reported =
    ctx.statusRefreshMs === 0
      ? { status: g.status, name: g.type === 'lxc' ? (g.config.hostname ?? `CT${g.vmid}`) : (g.config.name ?? `VM ${g.vmid}`) }
      : g.reported;
  if (!nodeOnline || !reported) row.status = 'unknown';
  else {
    row.status = reported.status;
    row.name = reported.name;
    row.maxcpu = Number(g.config.cores ?? 1);
    row.maxmem = Number(g.config.memory ?? 512) * 1024 * 1024;
    row.mem = g.status === 'running' ? 64 * 1024 * 1024 : 0;
    row.cpu = g.status === 'running' ? 0.01 : 0;
    row.maxdisk = 8 * 1024 ** 3;
    row.disk = 1024 ** 3;
    row.uptime = g.status === 'running' ? Math.floor((Date.now() - g.startedAt) / 1000) : 0;
    row.netin = 0;
    row.netout = 0;
    row.diskread = 0;
    row.diskwrite = 0;
  }
  if (g.config.tags) row.tags = g.config.tags;
  if (g.config.lock) row.lock = g.config.lock;
  return row;
}

function lxcInterfaces(g: SimGuest): unknown[] {
  const out: unknown[] = [
    {
      name: 'lo',
      hwaddr: '00:00:00:00:00:00',
      'hardware-address': '00:00:00:00:00:00',
      inet: '127.0.0.1/8',
      inet6: '::1/128',
      'ip-addresses': [
        { 'ip-address': '127.0.0.1', 'ip-address-type': 'inet', prefix: 8 },
        { 'ip-address': '::1', 'ip-address-type': 'inet6', prefix: 128 },
      ],
    },
  ];
  for (const i of g.interfaces) {
    const hw = (i.hwaddr ?? 'bc:24:11:00:00:00').toLowerCase();
    const row: Record<string, unknown> = { name: i.name, hwaddr: hw, 'hardware-address': hw };
    const addrs: unknown[] = [];
    if (i.ipv4) {
      row.inet = i.ipv4;
      const [ip, prefix] = i.ipv4.split('/');
      addrs.push({ 'ip-address': ip, 'ip-address-type': 'inet', prefix: Number(prefix ?? 32) });
    }
    if (i.ipv6) {
      row.inet6 = i.ipv6;
      const [ip, prefix] = i.ipv6.split('/');
      addrs.push({ 'ip-address': ip, 'ip-address-type': 'inet6', prefix: Number(prefix ?? 128) });
    }
    row['ip-addresses'] = addrs;
    out.push(row);
  }
  return out;
}

function agentInterfaces(g: SimGuest): unknown {
  const result: unknown[] = [
    {
      name: 'lo',
      'hardware-address': '00:00:00:00:00:00',
      'ip-addresses': [
        { 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 },
        { 'ip-address': '::1', 'ip-address-type': 'ipv6', prefix: 128 },
      ],
      statistics: { 'rx-bytes': 0, 'rx-packets': 0, 'tx-bytes': 0, 'tx-packets': 0 },
    },
  ];
  for (const i of g.interfaces) {
    const addrs: unknown[] = [];
    if (i.ipv4) {
      const [ip, prefix] = i.ipv4.split('/');
      addrs.push({ 'ip-address': ip, 'ip-address-type': 'ipv4', prefix: Number(prefix ?? 32) });
    }
    if (i.ipv6) {
      const [ip, prefix] = i.ipv6.split('/');
      addrs.push({ 'ip-address': ip, 'ip-address-type': 'ipv6', prefix: Number(prefix ?? 128) });
    }
    result.push({ name: i.name, 'hardware-address': (i.hwaddr ?? 'bc:24:11:00:00:00').toLowerCase(), 'ip-addresses': addrs });
  }
  return { result };
}

function storageOf(ctx: HandlerContext, id: string, node?: string): SimStorage {
  const s = ctx.state.storages.get(id);
  if (!s) throw new SimError(500, `storage '${id}' does not exist`);
  // pve-storage PVE/Storage.pm storage_check_enabled.
  if (node !== undefined && !storageOnNode(s, node)) throw new SimError(500, `storage '${id}' is not available on node '${node}'`);
  return s;
}

function parseVolid(volid: string): { storage: string; volume: string } {
  const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(volid);
  if (!m) throw new SimError(500, `unable to parse volume ID '${volid}'`);
  return { storage: m[1]!, volume: m[2]! };
}

const LXC_OPTION_PRIV: Record<string, string> = {
  cores: 'VM.Config.CPU',
  cpulimit: 'VM.Config.CPU',
  cpuunits: 'VM.Config.CPU',
  rootfs: 'VM.Config.Disk',
  memory: 'VM.Config.Memory',
  swap: 'VM.Config.Memory',
  hostname: 'VM.Config.Network',
  nameserver: 'VM.Config.Network',
  searchdomain: 'VM.Config.Network',
};
const NO_EXTRA_PRIV = new Set([
  'node',
  'vmid',
  'ssh-public-keys',
  'password',
  'start',
  'storage',
  'ostemplate',
  'digest',
  'delete',
  'revert',
]);

/** pve-container check_ct_modify_config_perm + check_bridge_access, for the options we simulate. */
function checkOptionPrivs(ctx: HandlerContext, vmid: number, keys: string[]): void {
  const vmPath = `/vms/${vmid}`;
  for (const key of keys) {
    if (NO_EXTRA_PRIV.has(key)) continue;
    if (/^net\d+$/.test(key)) {
      requirePriv(ctx.token, vmPath, 'VM.Config.Network');
      const net = parseNet(str(ctx.params[key])!);
      if (net.bridge) {
        const zonePath = `/sdn/zones/localnetwork/${net.bridge}${net.tag ? `/${net.tag}` : ''}`;
        requirePriv(ctx.token, zonePath, 'SDN.Use');
      }
      continue;
    }
    if (key === 'features') {
      const feats = Object.keys(parseNet(str(ctx.params.features)!.replace(/^nesting$/, 'nesting=1')));
      if (feats.some((f) => f !== 'nesting'))
        throw new SimError(403, 'Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)');
      requirePriv(ctx.token, vmPath, 'VM.Allocate');
      continue;
    }
    requirePriv(ctx.token, vmPath, LXC_OPTION_PRIV[key] ?? 'VM.Config.Options');
  }
}

function validateSshKeys(keys: string): void {
  for (const line of keys.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (!/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+)\s+[A-Za-z0-9+/=]+(\s.*)?$/.test(line.trim()))
      throw new SimError(500, `SSH public key validation error`);
  }
}

function ipFromNet(net: Record<string, string>): string | undefined {
  return net.ip && net.ip !== 'dhcp' && net.ip !== 'manual' ? net.ip.split('/')[0] : undefined;
}

const flockFile = (vmid: number) => `/run/lock/lxc/pve-config-${vmid}.lock`;

/**
 * lock_config: wait up to 10 s for the CT's flock, then run `work` holding it
 * (pve-guest-common src/PVE/AbstractConfig.pm lock_config; pve-common src/PVE/Tools.pm lock_file_full:
 * `can't lock file '<file>' - got timeout`).
 */
async function withFlock<T>(ctx: HandlerContext, g: SimGuest, holder: string, work: () => Promise<T> | T): Promise<T> {
  const deadline = Date.now() + ctx.flockTimeoutMs;
  while (g.flock) {
    const left = deadline - Date.now();
    const timedOut = await Promise.race([g.flock.released.then(() => false), ctx.sleep(Math.max(0, left)).then(() => true)]);
    if (timedOut && g.flock) throw new SimError(500, `can't lock file '${flockFile(g.vmid)}' - got timeout`);
  }
  const flock = ctx.state.takeFlock(g, holder);
  try {
    return await work();
  } finally {
    flock.release();
  }
}

/** check_lock: any config lock refuses the operation (`mounted` is exempt for stop only). */
function checkLock(g: SimGuest, exempt?: string): void {
  const lock = g.config.lock;
  if (lock !== undefined && lock !== exempt) throw new SimError(500, `CT is locked (${lock})`);
}

async function startLxc(ctx: HandlerContext, g: SimGuest): Promise<void> {
  const net = parseNet(String(g.config.net0 ?? ''));
  let ipv4 = ipFromNet(net);
  if (ctx.backend) {
    const started = await ctx.backend.start(g.vmid);
    ipv4 = started.ipv4 ?? ipv4;
  } else if (!ipv4 && g.interfaces.length === 0) {
    ipv4 = ctx.allocateIp();
  }
  if (ipv4 && g.interfaces.length === 0) {
    const prefix = net.ip?.includes('/') ? net.ip.split('/')[1] : '24';
    g.interfaces = [{ name: net.name ?? 'eth0', ipv4: `${ipv4}/${prefix}`, hwaddr: net.hwaddr }];
  } else if (ipv4 && ctx.backend) {
    g.interfaces = [{ name: net.name ?? 'eth0', ipv4: `${ipv4}/24`, hwaddr: net.hwaddr }];
  }
  g.status = 'running';
  g.startedAt = Date.now();
}

function updateConfig(ctx: HandlerContext, g: SimGuest): null {
  const p = ctx.params;
  const changes = Object.keys(p).filter((k) => !['node', 'vmid', 'digest', 'delete', 'revert'].includes(k));
  const deletes =
    str(p.delete)
      ?.split(/[;,\s]+/)
      .filter(Boolean) ?? [];
  if (changes.length === 0 && deletes.length === 0) throw new SimError(500, 'no options specified');
  checkOptionPrivs(ctx, g.vmid, [...changes, ...deletes]);
  checkLock(g);
  const digest = str(p.digest);
  if (digest !== undefined && digest !== ctx.state.digest(g))
    throw new SimError(500, 'detected modified configuration - file changed by other user? Try again.');
  if (changes.includes('unprivileged')) throw new SimError(500, "unable to modify read-only option: 'unprivileged'");
  for (const k of deletes) {
    if (!(k in g.config)) continue;
    delete g.config[k];
  }
  for (const k of changes) {
    const v = str(p[k])!;
    if (k === 'tags') g.config.tags = normalizeTags(v);
    else if (/^net\d+$/.test(k)) {
      const net = parseNet(v);
      const old = parseNet(String(g.config[k] ?? ''));
      net.hwaddr ??= old.hwaddr ?? ctx.state.nextMac();
      net.type ??= 'veth';
      g.config[k] = printNet(net);
      // A running CT gets network changes at once (pve-container src/PVE/LXC.pm update_net ->
      // update_ipconfig): a new static address replaces the old one inside the container.
      const ip = ipFromNet(net);
      const iface = g.interfaces.find((i) => i.name === (net.name ?? 'eth0'));
      if (g.status === 'running' && ip && iface && ip !== ipFromNet(old)) {
        const prefix = net.ip?.includes('/') ? net.ip.split('/')[1] : '24';
        iface.ipv4 = `${ip}/${prefix}`;
      }
    } else if (['memory', 'swap', 'cores', 'onboot'].includes(k)) g.config[k] = Number(v);
    else g.config[k] = v;
  }
  return null;
}

export const handlers: Record<string, Handler> = {
  'GET /cluster/resources': (ctx) => {
    const type = str(ctx.params.type);
    const rows: unknown[] = [];
    if (!type || type === 'vm') {
      for (const g of [...ctx.state.guests.values()].sort((a, b) => a.vmid - b.vmid)) {
        // Rows without VM.Audit are dropped silently, never a 403.
        if (hasPriv(ctx.token, `/vms/${g.vmid}`, 'VM.Audit')) rows.push(resourceRow(ctx, g));
      }
    }
    if (!type || type === 'node') {
      for (const n of ctx.state.nodes.values())
        rows.push({ id: `node/${n.name}`, type: 'node', node: n.name, status: ctx.nodeOnline(n.name) ? 'online' : 'offline', level: '' });
    }
    if (!type || type === 'storage') {
      for (const n of ctx.state.nodes.values())
        for (const s of ctx.state.storages.values()) {
          if (!storageOnNode(s, n.name)) continue;
          if (
            !hasPriv(ctx.token, `/storage/${s.id}`, 'Datastore.Audit') &&
            !hasPriv(ctx.token, `/storage/${s.id}`, 'Datastore.AllocateSpace')
          )
            continue;
          rows.push({
            id: `storage/${n.name}/${s.id}`,
            type: 'storage',
            node: n.name,
            storage: s.id,
            status: ctx.nodeOnline(n.name) ? 'available' : 'unknown',
            content: s.content.join(','),
            plugintype: s.type,
            shared: 0,
          });
        }
    }
    return rows;
  },

  'GET /cluster/nextid': (ctx) => {
    const wanted = str(ctx.params.vmid);
    if (wanted !== undefined) {
      if (ctx.state.guests.has(Number(wanted)))
        throw new SimError(400, 'Parameter verification failed.', { vmid: `VM ${wanted} already exists` });
      return wanted;
    }
    for (let id = 100; id < 1_000_000; id++) if (!ctx.state.guests.has(id)) return String(id);
    throw new SimError(500, 'unable to get any free VMID in range [100, 999999]');
  },

  'GET /cluster/status': (ctx) => {
    const nodes = [...ctx.state.nodes.values()];
    return [
      { type: 'cluster', id: 'cluster', name: 'homelab', nodes: nodes.length, quorate: 1, version: nodes.length },
      ...nodes.map((n, i) => ({
        type: 'node',
        id: `node/${n.name}`,
        name: n.name,
        ip: n.ip,
        online: ctx.nodeOnline(n.name) ? 1 : 0,
        local: i === 0 ? 1 : 0,
        nodeid: n.nodeid,
        level: '',
      })),
    ];
  },

  // pve-manager PVE/API2.pm version: `release` is the x.y point release.
  'GET /version': (ctx) =>
    ctx.state.pveVersion === 9
      ? { release: '9.1', version: '9.1.1', repoid: '42fa3b4e' }
      : { release: '8.4', version: '8.4.1', repoid: '2a5fa54a' },

  // pve-access-control PVE/API2/AccessControl.pm permissions: without userid, the caller's own
  // effective privileges, `{"<path>": {"<Priv>": 1 (propagate) | 0}}`; the simulator's ACLs all propagate.
  'GET /access/permissions': (ctx) => {
    const only = str(ctx.params.path);
    const out: Record<string, Record<string, number>> = {};
    for (const [path, privs] of Object.entries(ctx.token.acl)) {
      if (only !== undefined && path !== only) continue;
      out[path] = Object.fromEntries(privs.map((p) => [p, 1]));
    }
    return out;
  },

  'GET /nodes': (ctx) =>
    [...ctx.state.nodes.values()].map((n) => ({
      node: n.name,
      status: ctx.nodeOnline(n.name) ? 'online' : 'offline',
      id: `node/${n.name}`,
      type: 'node',
      level: '',
      ssl_fingerprint: 'AA:'.repeat(31) + 'AA',
    })),

  'GET /nodes/{node}/storage': (ctx) => {
    const content = str(ctx.params.content)?.split(',');
    const node = str(ctx.params.node)!;
    return [...ctx.state.storages.values()]
      .filter((s) => storageOnNode(s, node))
      .filter(
        (s) =>
          hasPriv(ctx.token, `/storage/${s.id}`, 'Datastore.Audit') || hasPriv(ctx.token, `/storage/${s.id}`, 'Datastore.AllocateSpace'),
      )
      .filter((s) => !content || content.some((c) => s.content.includes(c)))
      .map((s) => ({
        storage: s.id,
        type: s.type,
        content: s.content.join(','),
        active: 1,
        enabled: 1,
        shared: 0,
        total: 100 * 1024 ** 3,
        used: 10 * 1024 ** 3,
        avail: 90 * 1024 ** 3,
        used_fraction: 0.1,
      }));
  },

  'GET /nodes/{node}/storage/{storage}/content': (ctx) => {
    const node = str(ctx.params.node)!;
    const s = storageOf(ctx, str(ctx.params.storage)!, node);
    const content = str(ctx.params.content);
    if (content && content !== 'vztmpl') return [];
    return [...templatesOn(s, node).entries()].map(([file, meta]) => ({
      volid: `${s.id}:vztmpl/${file}`,
      // pve-storage: `.tar` → tar, `.tar.zst` → tzst, `.tar.gz` → tgz, ...
      format: /\.tar\.(\w+)$/.test(file) ? `t${/\.tar\.(\w+)$/.exec(file)![1]}` : 'tar',
      size: meta.size,
      ctime: meta.ctime,
      content: 'vztmpl',
    }));
  },

  'GET /nodes/{node}/aplinfo': (ctx) => ctx.state.aplinfo,

  'POST /nodes/{node}/aplinfo': (ctx) => {
    const storage = storageOf(ctx, str(ctx.params.storage)!, str(ctx.params.node)!);
    const template = str(ctx.params.template)!;
    const entry = ctx.state.aplinfo.find((a) => a.template === template);
    if (!entry) throw new SimError(400, 'Parameter verification failed.', { template: 'no such template' });
    if (!storage.content.includes('vztmpl')) throw new SimError(500, `storage '${storage.id}' does not support templates`);
    const task = ctx.runTask(str(ctx.params.node)!, 'download', template, ctx.token, (t) => {
      t.log.push(`starting template download from: ${entry.location}`, `target file: /var/lib/vz/template/cache/${template}`);
      templatesOn(storage, str(ctx.params.node)!).set(template, { size: 126_509_440, ctime: Math.floor(Date.now() / 1000) });
      t.log.push('download of template finished');
    });
    return task.upid;
  },

  'POST /nodes/{node}/lxc': async (ctx) => {
    const p = ctx.params;
    const node = str(p.node)!;
    const vmid = num(p.vmid)!;
    const existing = ctx.state.guests.get(vmid);
    if (existing) throw new SimError(500, `${existing.type === 'lxc' ? 'CT' : 'VM'} ${vmid} already exists on node '${existing.node}'`);
    if (str(p.unprivileged) === '0') requirePriv(ctx.token, '/', 'Sys.Modify');
    const keys = p['ssh-public-keys'];
    if (keys !== undefined) validateSshKeys(str(keys)!);
    // "some checks give bare `Permission check failed`" (README-pve §3): LXC create without VM.Allocate.
    if (!hasPriv(ctx.token, `/vms/${vmid}`, 'VM.Allocate')) throw new SimError(403, 'Permission check failed');
    checkOptionPrivs(ctx, vmid, Object.keys(p));

    const ostemplate = str(p.ostemplate)!;
    const tmpl = parseVolid(ostemplate);
    const tmplStorage = storageOf(ctx, tmpl.storage, node);
    requirePriv(ctx.token, `/storage/${tmplStorage.id}`, 'Datastore.AllocateSpace', 'Datastore.Audit');
    if (!/^vztmpl\//.test(tmpl.volume)) throw new SimError(500, `unable to use volume ${ostemplate} - content type needs to be 'vztmpl'`);

    const defaultStorage = str(p.storage) ?? 'local';
    const rootfsRaw = str(p.rootfs) ?? '4';
    const rm = /^(?:volume=)?(?:([^:\s,]+):)?(\d+(?:\.\d+)?)(?:,(.*))?$/.exec(rootfsRaw);
    if (!rm) throw new SimError(500, `unable to parse rootfs '${rootfsRaw}' (only new volumes are simulated)`);
    const rootStorageId = rm[1] ?? defaultStorage;
    const rootStorage = ctx.state.storages.get(rootStorageId);
    if (rootStorage && !storageOnNode(rootStorage, node))
      throw new SimError(500, `storage '${rootStorageId}' is not available on node '${node}'`);
    if (!rootStorage || !rootStorage.content.includes('rootdir'))
      throw new SimError(400, 'Parameter verification failed.', {
        storage: `storage '${rootStorageId}' does not support container directories`,
      });
    requirePriv(ctx.token, `/storage/${rootStorageId}`, 'Datastore.AllocateSpace');

    // The configuration the task writes after unpacking; until then the file holds only `lock: create`.
    const config: Record<string, ConfigValue> = {
      arch: str(p.arch) ?? 'amd64',
      hostname: str(p.hostname) ?? `CT${vmid}`,
      memory: num(p.memory) ?? 512,
      swap: num(p.swap) ?? 512,
      ostype: 'debian',
      rootfs: `${rootStorageId}:vm-${vmid}-disk-0,size=${rm[2]}G`,
      unprivileged: str(p.unprivileged) === '0' ? 0 : 1,
    };
    if (p.cores !== undefined) config.cores = num(p.cores)!;
    if (p.onboot !== undefined) config.onboot = num(p.onboot)!;
    if (p.features !== undefined) config.features = str(p.features)!;
    if (p.tags !== undefined) config.tags = normalizeTags(str(p.tags)!);
    for (const k of Object.keys(p).filter((k) => /^net\d+$/.test(k))) {
      const net = parseNet(str(p[k])!);
      net.hwaddr ??= ctx.state.nextMac();
      net.type ??= 'veth';
      config[k] = printNet(net);
    }
    // Phase 1 (README-pve §4.14): create_and_lock_config writes a config holding only `lock: create`
    // before the UPID is returned (pve-container src/PVE/API2/LXC.pm create_vm ->
    // pve-guest-common src/PVE/AbstractConfig.pm create_and_lock_config); the worker holds the flock
    // while volumes are allocated and the template is unpacked. No RRD entry yet: the
    // /cluster/resources row reads `unknown`, no name, no tags, `lock: create`.
    const guest: SimGuest = {
      type: 'lxc',
      vmid,
      node,
      status: 'stopped',
      config: { lock: 'create' },
      interfaces: [],
      agentRunning: false,
      startedAt: Date.now(),
    };
    ctx.state.guests.set(vmid, guest);
    let flock: ReturnType<SimState['takeFlock']> | undefined;
    const task = ctx.runTask(node, 'vzcreate', String(vmid), ctx.token, async (t) => {
      try {
        if (!templatesOn(tmplStorage, node).has(tmpl.volume.replace(/^vztmpl\//, '')))
          throw new Error(`volume '${ostemplate}' does not exist`);
        t.log.push(`extracting archive '/var/lib/vz/template/cache/${tmpl.volume.replace(/^vztmpl\//, '')}'`);
        await ctx.backend?.create({
          node,
          vmid,
          hostname: String(config.hostname),
          sshPublicKeys: str(keys) ?? '',
          net0: String(config.net0 ?? ''),
          memory: Number(config.memory),
          cores: Number(config.cores ?? 1),
        });
        t.log.push('Total bytes read: 524288000 (500MiB, 500MiB/s)', 'Detected container architecture: amd64');
        if (keys !== undefined) t.log.push('Adding SSH keys to the container');
        // Phase 2: "safe config (after OS detection)" - the full config from the request, no `lock`.
        guest.config = config;
      } catch (e) {
        ctx.state.guests.delete(vmid); // a failed create removes the config again ($destroy_config_on_error)
        throw new Error(`unable to create CT ${vmid} - ${(e as Error).message}`);
      } finally {
        flock?.release(); // released before the optional start
      }
      if (str(p.start) === '1') await startLxc(ctx, guest);
    });
    flock = ctx.state.takeFlock(guest, task.upid);
    task.onEnd = () => flock?.release();
    return task.upid;
  },

  'DELETE /nodes/{node}/lxc/{vmid}': (ctx) => {
    const g = guestOn(ctx, 'lxc');
    if (g.config.lock) throw new SimError(500, `CT is locked (${g.config.lock})`);
    if (g.status === 'running' && str(ctx.params.force) !== '1')
      throw new SimError(500, `unable to destroy CT ${g.vmid} - container is running`);
    return ctx.runTask(g.node, 'vzdestroy', String(g.vmid), ctx.token, async () => {
      if (ctx.backend) {
        if (g.status === 'running') await ctx.backend.stop(g.vmid);
        await ctx.backend.destroy(g.vmid);
      }
      ctx.state.guests.delete(g.vmid);
    }).upid;
  },

  'GET /nodes/{node}/lxc/{vmid}/config': (ctx) => {
    const g = guestOn(ctx, 'lxc');
    return { ...g.config, digest: ctx.state.digest(g) };
  },

  // update_vm runs under lock_config synchronously: flock (10 s) -> check_lock -> assert_if_modified
  // (pve-container src/PVE/API2/LXC/Config.pm update_vm @ 94f5585, lines 174-176 and 268).
  'PUT /nodes/{node}/lxc/{vmid}/config': (ctx) => {
    const g = guestOn(ctx, 'lxc');
    return withFlock(ctx, g, 'update_vm', () => updateConfig(ctx, g));
  },

  'GET /nodes/{node}/lxc/{vmid}/status/current': (ctx) => {
    const g = guestOn(ctx, 'lxc');
    const out: Record<string, unknown> = {
      vmid: g.vmid,
      type: 'lxc',
      status: g.status,
      // Live, from the config (pve-container src/PVE/LXC.pm vmstatus): a lock-only config reads
      // `CT<vmid>`, 512 MiB, 4 GiB and all host CPUs (README-pve §4.14).
      name: g.config.hostname ?? `CT${g.vmid}`,
      cpus: Number(g.config.cores ?? 2),
      cpu: 0,
      mem: 0,
      maxmem: Number(g.config.memory ?? 512) * 1024 * 1024,
      swap: 0,
      maxswap: Number(g.config.swap ?? 512) * 1024 * 1024,
      disk: 0,
      maxdisk: g.config.rootfs ? 8 * 1024 ** 3 : 4 * 1024 ** 3,
      uptime: g.status === 'running' ? Math.floor((Date.now() - g.startedAt) / 1000) : 0,
      netin: 0,
      netout: 0,
      diskread: 0,
      diskwrite: 0,
      ha: { managed: 0 },
    };
    if (g.config.tags) out.tags = g.config.tags;
    if (g.config.lock) out.lock = g.config.lock;
    if (g.status === 'running') out.pid = 4242 + g.vmid;
    return out;
  },

  // The handler checks only "already running"; the lock is checked inside the task, after waiting up to
  // 10 s for the flock (pve-container src/PVE/API2/LXC/Status.pm vm_start; README-pve §4.14).
  'POST /nodes/{node}/lxc/{vmid}/status/start': (ctx) => {
    const g = guestOn(ctx, 'lxc');
    if (g.status === 'running') throw new SimError(500, `CT ${g.vmid} already running`);
    const task = ctx.runTask(g.node, 'vzstart', String(g.vmid), ctx.token, () =>
      withFlock(ctx, g, task.upid, async () => {
        checkLock(g);
        if (g.status === 'running') return;
        await startLxc(ctx, g);
      }),
    );
    return task.upid;
  },

  'POST /nodes/{node}/lxc/{vmid}/status/stop': (ctx) => {
    const g = guestOn(ctx, 'lxc');
    if (g.status !== 'running') throw new SimError(500, `CT ${g.vmid} not running`);
    const task = ctx.runTask(g.node, 'vzstop', String(g.vmid), ctx.token, () =>
      withFlock(ctx, g, task.upid, async () => {
        checkLock(g, 'mounted'); // vm_stop exempts `mounted`
        await ctx.backend?.stop(g.vmid);
        g.status = 'stopped';
      }),
    );
    return task.upid;
  },

  'POST /nodes/{node}/lxc/{vmid}/status/shutdown': (ctx) => {
    const g = guestOn(ctx, 'lxc');
    if (g.status !== 'running') throw new SimError(500, `CT ${g.vmid} not running`);
    const task = ctx.runTask(g.node, 'vzshutdown', String(g.vmid), ctx.token, () =>
      withFlock(ctx, g, task.upid, async () => {
        checkLock(g);
        await ctx.backend?.stop(g.vmid);
        g.status = 'stopped';
      }),
    );
    return task.upid;
  },

  'GET /nodes/{node}/lxc/{vmid}/interfaces': (ctx) => {
    const g = guestOn(ctx, 'lxc');
    return g.status === 'running' ? lxcInterfaces(g) : null;
  },

  'GET /nodes/{node}/qemu/{vmid}/config': (ctx) => {
    const g = guestOn(ctx, 'qemu');
    return { ...g.config, digest: ctx.state.digest(g) };
  },

  'GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces': async (ctx) => {
    const g = guestOn(ctx, 'qemu');
    if (!g.config.agent) throw new SimError(500, 'No QEMU guest agent configured');
    if (g.status !== 'running') throw new SimError(500, `VM ${g.vmid} is not running`);
    if (!g.agentRunning) throw new SimError(500, 'QEMU guest agent is not running');
    if (g.agentHangs) {
      // The ping (3 s) succeeds, the command does not answer within QMPClient's 5 s:
      // `<peer name> <peer type> command '<execute>' failed - got timeout` with peer "VM <vmid>"/qga and
      // execute "guest-network-get-interfaces" (qemu-server src/PVE/QMPClient.pm:175 and :503 @ e6352be6,
      // src/PVE/API2/Qemu/Agent.pm mon_cmd($vmid, "guest-$cmd")).
      await ctx.sleep(ctx.agentTimeoutMs);
      throw new SimError(500, `VM ${g.vmid} qga command 'guest-network-get-interfaces' failed - got timeout`);
    }
    return agentInterfaces(g);
  },

  // node_tasks (pve-manager PVE/API2/Tasks.pm; README-pve §4.15): without Sys.Audit on /nodes/<node>
  // only the caller's own tasks; `active` = not yet archived, running ones with status "RUNNING" and the
  // full `user@realm!token` as user; archive rows split the token into user + tokenid.
  'GET /nodes/{node}/tasks': (ctx) => {
    const node = str(ctx.params.node)!;
    const source = str(ctx.params.source) ?? 'archive';
    const vmid = str(ctx.params.vmid);
    const typefilter = str(ctx.params.typefilter);
    const userfilter = str(ctx.params.userfilter)?.toLowerCase();
    const start = num(ctx.params.start) ?? 0;
    const limit = num(ctx.params.limit) ?? 50;
    const seeAll = hasPriv(ctx.token, `/nodes/${node}`, 'Sys.Audit');
    const all = [...ctx.state.tasks.values()]
      .filter((t) => t.node === node && (seeAll || t.owner === ctx.token.id))
      .filter((t) => vmid === undefined || t.id === vmid)
      .filter((t) => typefilter === undefined || t.type === typefilter)
      .sort((a, b) => b.starttime - a.starttime || b.pid - a.pid);
    const active = all.filter((t) => t.status === 'running');
    const archived = all.filter((t) => t.status === 'stopped');
    const activeRow = (t: SimTask) => ({
      upid: t.upid,
      node: t.node,
      pid: t.pid,
      pstart: t.pstart,
      starttime: t.starttime,
      type: t.type,
      id: t.id,
      user: t.owner,
      status: 'RUNNING',
      saved: '0',
    });
    const archiveRow = (t: SimTask) => {
      const row: Record<string, unknown> = {
        upid: t.upid,
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        type: t.type,
        id: t.id,
        user: t.user,
        status: t.exitstatus ?? 'unexpected status',
      };
      if (t.tokenid) row.tokenid = t.tokenid;
      if (t.endtime !== undefined) row.endtime = t.endtime;
      return row;
    };
    let rows =
      source === 'active'
        ? active.map(activeRow)
        : source === 'all'
          ? [...active.map(activeRow), ...archived.map(archiveRow)]
          : archived.map(archiveRow);
    if (userfilter) rows = rows.filter((r) => String(r.user).toLowerCase().includes(userfilter));
    return { data: rows.slice(start, start + limit), total: rows.length, __envelope: true };
  },

  'GET /nodes/{node}/tasks/{upid}/status': (ctx) => {
    const task = taskFor(ctx);
    const out: Record<string, unknown> = {
      upid: task.upid,
      node: task.node,
      pid: task.pid,
      pstart: task.pstart,
      starttime: task.starttime,
      type: task.type,
      id: task.id,
      user: task.user,
      status: task.status,
    };
    if (task.tokenid) out.tokenid = task.tokenid;
    if (task.exitstatus !== undefined) out.exitstatus = task.exitstatus;
    return out;
  },

  'GET /nodes/{node}/tasks/{upid}/log': (ctx) => {
    const task = taskFor(ctx);
    const start = num(ctx.params.start) ?? 0;
    const limit = num(ctx.params.limit) ?? 50;
    const lines = task.log.map((t, i) => ({ n: i + 1, t }));
    return { data: lines.slice(start, start + limit), total: lines.length, __envelope: true };
  },
};

function taskFor(ctx: HandlerContext): SimTask {
  const upid = str(ctx.params.upid)!;
  if (!/^UPID:[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:\s/]+:[^:\s/]*:[^:\s/]+:$/.test(upid))
    throw new SimError(400, 'Parameter verification failed.', { upid: 'unable to parse worker upid' });
  const task = ctx.state.tasks.get(upid);
  if (!task || task.node !== str(ctx.params.node)) throw new SimError(400, 'Parameter verification failed.', { upid: 'no such task' });
  if (task.owner !== ctx.token.id && !hasPriv(ctx.token, `/nodes/${task.node}`, 'Sys.Audit'))
    throw new SimError(403, `Permission check failed (/nodes/${task.node}, Sys.Audit)`);
  return task;
}
