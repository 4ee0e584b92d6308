import { readFileSync } from 'node:fs';
import { type Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../src/proxmox/tls-dispatcher.js';
import { RECOMMENDED_PRIVILEGES_PVE9 } from '../../../src/sim/proxmox/seed.js';
import { type ProxmoxSim, startProxmoxSim } from '../../../src/sim/proxmox/start-proxmox-sim.js';
import { baseSeed, TOKEN_ID, TOKEN_SECRET } from './helpers.js';

interface Facts {
  contentType: string;
  endpoints: { method: string; path: string; required: string[]; parameters: string[] }[];
  messages: Record<string, string>;
  upidRegex: string;
}
const facts = JSON.parse(readFileSync(new URL('../../fixtures/pve/pve-facts.json', import.meta.url), 'utf8')) as Facts;

const LIMITED = 'limited@pve!ro';
const LIMITED_SECRET = '0c0c0c0c-1111-4222-8333-444455556666';
// The recommended role (PVE 9 names) plus Sys.Modify.
const ALL = [...RECOMMENDED_PRIVILEGES_PVE9, 'Sys.Modify'];

let sim: ProxmoxSim;
let dispatcher: Agent;
let upid: string;

interface Answer {
  status: number;
  reason: string;
  contentType: string | null;
  text: string;
  json: { data?: unknown; errors?: Record<string, string>; message?: string } | undefined;
}

async function req(
  method: string,
  path: string,
  params: Record<string, string> = {},
  token = `${TOKEN_ID}=${TOKEN_SECRET}`,
): Promise<Answer> {
  const url = new URL(`/api2/json${path}`, sim.url);
  let body: string | undefined;
  const headers: Record<string, string> = { Authorization: `PVEAPIToken=${token}` };
  if (method === 'GET' || method === 'DELETE') for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  else {
    body = new URLSearchParams(params).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(url, { method, body, headers, dispatcher });
  const text = await res.text();
  let json: Answer['json'];
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    json = undefined;
  }
  return { status: res.status, reason: res.statusText, contentType: res.headers.get('content-type'), text, json };
}

function fillPath(path: string): string {
  const vmid = path.includes('/qemu/') ? '200' : '101';
  return path
    .replace('{node}', 'pve')
    .replace('{vmid}', vmid)
    .replace('{storage}', 'local')
    .replace('{upid}', encodeURIComponent(upid).replace(/%3A/g, ':').replace(/%21/g, '!'));
}

beforeAll(async () => {
  sim = await startProxmoxSim({
    seed: baseSeed(
      [
        { type: 'lxc', vmid: 101, node: 'pve', name: 'jellyfin', status: 'stopped' },
        { type: 'qemu', vmid: 200, node: 'pve', name: 'nextcloud', status: 'running', agent: 'none' },
      ],
      {
        tokens: [
          { id: TOKEN_ID, secret: TOKEN_SECRET, privileges: ALL },
          { id: LIMITED, secret: LIMITED_SECRET, privileges: ['VM.Audit'] },
        ],
      },
    ),
    // Long enough that "running" and `lock: create` are observable even on a loaded machine.
    taskDurationMs: 400,
  });
  dispatcher = createDispatcher({ fingerprint: sim.fingerprint, connectTimeoutMs: 5000 });
  const start = await req('POST', '/nodes/pve/lxc/101/status/start');
  upid = start.json!.data as string;
});
afterAll(async () => {
  await dispatcher.close();
  await sim.close();
});

describe('simulator follows the PVE schema, not our client', () => {
  it.each(facts.endpoints.map((e) => [e.method, e.path] as const))('%s %s rejects an unknown parameter like PVE', async (method, path) => {
    const a = await req(method, fillPath(path), { proxflare_bogus: '1' });
    expect(a.status).toBe(400);
    expect(a.reason).toBe('Parameter verification failed.');
    expect(a.contentType).toBe(facts.contentType);
    expect(a.json).toMatchObject({ data: null, message: facts.messages.parameterVerificationFailed });
    expect(a.json!.errors!.proxflare_bogus).toBe(facts.messages.notInSchema);
  });

  it.each(facts.endpoints.filter((e) => e.required.length > 0).map((e) => [e.method, e.path, e.required] as const))(
    '%s %s requires %j',
    async (method, path, required) => {
      const a = await req(method, fillPath(path));
      expect(a.status).toBe(400);
      expect(a.json!.errors).toEqual(Object.fromEntries(required.map((k) => [k, facts.messages.missing])));
    },
  );

  it('malformed values get the PVE messages (type, format, minimum, enum, nested property string)', async () => {
    expect((await req('GET', '/cluster/nextid', { vmid: 'abc' })).json!.errors).toEqual({ vmid: facts.messages.integerType });
    expect((await req('GET', '/cluster/nextid', { vmid: '99' })).json!.errors).toEqual({ vmid: facts.messages.badVmid });
    expect((await req('GET', '/cluster/resources', { type: 'bogus' })).json!.errors).toEqual({ type: facts.messages.enum });
    const create = await req('POST', '/nodes/pve/lxc', {
      vmid: '300',
      ostemplate: 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst',
      hostname: 'bad_name',
      memory: '8',
      net0: 'name=eth0,bridge=vm br0',
      onboot: 'yes',
    });
    expect(create.status).toBe(400);
    expect(create.json!.errors).toEqual({
      hostname: facts.messages.badDnsName,
      memory: facts.messages.memoryMinimum,
      net0: facts.messages.net0BadBridge,
      onboot: facts.messages.booleanType,
    });
  });

  it('403 comes before 400', async () => {
    const a = await req('POST', '/nodes/pve/aplinfo', { storage: 'local', bogus: 'x' }, `${LIMITED}=${LIMITED_SECRET}`);
    expect(a.status).toBe(403);
    expect(a.reason).toBe(facts.messages.permission);
    expect(a.json).toEqual({ data: null, message: `${facts.messages.permission}\n` });
  });

  it('401 has no body and no Content-Type; 501 for unknown paths', async () => {
    const bad = await req('GET', '/nodes', {}, `${TOKEN_ID}=00000000-0000-4000-8000-000000000000`);
    expect(bad.status).toBe(401);
    expect(bad.text).toBe('');
    expect(bad.contentType).toBeNull();
    const missing = await req('GET', '/nodes/pve/foo');
    expect(missing.status).toBe(501);
    expect(missing.reason).toBe(facts.messages.notImplemented);
  });

  it('nextid is a string; tasks have real UPIDs and finish with an exit status', async () => {
    expect((await req('GET', '/cluster/nextid')).json!.data).toBe('100');
    expect(upid).toMatch(new RegExp(facts.upidRegex));
    expect(upid).toContain(`:vzstart:101:${TOKEN_ID}:`);
    let status: Record<string, unknown>;
    do status = (await req('GET', `/nodes/pve/tasks/${upid}/status`)).json!.data as Record<string, unknown>;
    while (status.status === 'running');
    expect(status).toMatchObject({
      status: 'stopped',
      exitstatus: 'OK',
      type: 'vzstart',
      id: '101',
      user: 'proxflare@pve',
      tokenid: 'cli',
    });
    const log = await req('GET', `/nodes/pve/tasks/${upid}/log`);
    expect(log.json).toMatchObject({ total: 1, data: [{ n: 1, t: 'TASK OK' }] });
  });

  it('create: lock during the task, tags normalised, duplicate vmid refused, interfaces null when stopped', async () => {
    const params = {
      vmid: '300',
      ostemplate: 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst',
      hostname: 'cf',
      rootfs: 'local-lvm:2',
      net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
      tags: 'Proxflare;network,proxflare',
    };
    const created = await req('POST', '/nodes/pve/lxc', params);
    expect(created.status).toBe(200);
    // Phase 1 of vzcreate: the config holds only `lock: create` (README-pve §4.14).
    expect(Object.keys((await req('GET', '/nodes/pve/lxc/300/config')).json!.data as object).sort()).toEqual(['digest', 'lock']);
    const dup = await req('POST', '/nodes/pve/lxc', { ...params, vmid: '101' });
    expect(dup.status).toBe(500);
    expect(dup.reason).toBe(facts.messages.ctExists);
    while (((await req('GET', '/nodes/pve/lxc/300/config')).json!.data as Record<string, unknown>).lock)
      await new Promise((r) => setTimeout(r, 10));
    const cfg = (await req('GET', '/nodes/pve/lxc/300/config')).json!.data as Record<string, unknown>;
    expect(cfg).toMatchObject({
      hostname: 'cf',
      rootfs: 'local-lvm:vm-300-disk-0,size=2G',
      unprivileged: 1,
      memory: 512,
      swap: 512,
      tags: 'network;proxflare',
    });
    expect(cfg.net0).toMatch(/^name=eth0,bridge=vmbr0,hwaddr=BC:24:11:[0-9A-F:]{8},ip=dhcp,type=veth$/);
    expect(cfg.digest).toMatch(/^[0-9a-f]{40}$/);
    expect((await req('GET', '/nodes/pve/lxc/300/interfaces')).text).toBe('{"data":null}');
  });

  it('PUT with a stale digest is refused; agent errors as PVE words them', async () => {
    const put = await req('PUT', '/nodes/pve/lxc/101/config', { memory: '1024', digest: '0'.repeat(40) });
    expect(put.status).toBe(500);
    expect(put.reason).toBe(facts.messages.digestMismatch);
    const agent = await req('GET', '/nodes/pve/qemu/200/agent/network-get-interfaces');
    expect(agent.status).toBe(500);
    expect(agent.json!.message).toBe(`${facts.messages.agentNotConfigured}\n`);
  });

  it('records every request (method, path, status)', () => {
    expect(sim.requests.some((r) => r.method === 'GET' && r.path === '/nodes/pve/foo' && r.status === 501)).toBe(true);
  });
});
