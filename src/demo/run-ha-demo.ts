import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliContext } from '../cli/context.js';
import { globalOptions } from '../cli/context.js';
import type { CliIo } from '../cli/io.js';
import { RUN_STDIN_SCRIPT, wrap } from '../connector/remote-scripts.js';
import { connectConnector } from '../connector/ssh-connector.js';
import { SshSession } from '../connector/ssh-session.js';
import { UserError } from '../core/errors.js';
import { WATCHDOG_PATHS } from '../render/watchdog.js';
import type { CloudflareSim } from '../sim/cloudflare/start-cloudflare-sim.js';
import type { SandboxHost } from '../sim/ssh/sandbox-host.js';
import { startSandboxHost } from '../sim/ssh/sandbox-host.js';
import type { Ports } from '../sync/ports.js';
import type { SimulatedHomelab } from './simulated-homelab.js';
import { startSimulatedHomelab } from './simulated-homelab.js';

/** The second replica's `sshHost`: the demo routes it to the second sandbox host. */
const SECOND_SSH_HOST = '127.0.0.2';

/** The demo inventory with two replicas on two nodes instead of the one connector. */
export function haInventory(lab: SimulatedHomelab, extraTunnelLines = ''): string {
  const yaml = lab.inventoryYaml();
  const out = yaml
    .replace(
      /^ {2}hostname: cloudflared\n/m,
      '  replicas:\n' +
        `    - { hostname: cloudflared-1, node: pve, sshHost: ${lab.host.host} }\n` +
        `    - { hostname: cloudflared-2, node: pve2, sshHost: ${SECOND_SSH_HOST} }\n`,
    )
    .replace(/^ {4}host: 127\.0\.0\.1\n/m, '')
    .replace(/^tunnel:\n {2}name: homelab\n/m, `tunnel:\n  name: homelab\n${extraTunnelLines}`);
  if (out === yaml) throw new UserError('demo --ha: the demo inventory has an unexpected shape');
  return out;
}

/**
 * `proxflare demo --ha`: two cloudflared replicas of one tunnel on two Proxmox nodes (the
 * simulator's cluster of `pve` and `pve2`), each its own sandbox host behind SSH. Apply, roll a
 * config change one replica at a time (each gate shown), kill one replica's cloudflared (status
 * shows the tunnel degraded and names it), let the watchdog bring it back, status healthy again.
 */
export async function runHaDemo(ctx: CliContext, flags: { keep: boolean }): Promise<void> {
  const { io } = ctx;
  const color = globalOptions(ctx).color;
  const say = (text: string) => io.stdout(`${color ? `\u001b[1;36m${text}\u001b[0m` : text}\n`);

  say('== proxflare demo --ha: two connectors for one tunnel, on two Proxmox nodes, entirely on loopback ==');
  const lab = await startSimulatedHomelab({ serveOrigins: true, taskDurationMs: 300, extraNodes: ['pve2'] });
  let second: SandboxHost | undefined;
  try {
    second = await startSandboxHost({ cloudflared: false });
    const secondHost = second;
    await writeFile(lab.inventoryFile, haInventory(lab));
    io.stdout(
      [
        `Proxmox VE API simulator   ${lab.proxmox.url}: a cluster of ${[...lab.proxmox.state.nodes.keys()].join(' and ')}`,
        `Cloudflare API simulator   ${lab.cloudflare.url}`,
        `replica cloudflared-1      node pve,  SSH sandbox host on 127.0.0.1:${lab.host.port}`,
        `replica cloudflared-2      node pve2, SSH sandbox host on 127.0.0.1:${secondHost.port} (its sshHost ${SECOND_SSH_HOST} is routed there)`,
        `inventory                  ${lab.inventoryFile}`,
        '',
      ].join('\n'),
    );
    const haIo = demoIo(io, lab, secondHost);
    const run = async (title: string, args: string[], expectCodes: number[] = [0]) => {
      say(`\n$ proxflare ${args.join(' ')}    # ${title}`);
      const code = await ctx.runCli(['node', 'proxflare', '-i', lab.inventoryFile, ...(color ? [] : ['--no-color']), ...args], haIo);
      if (!expectCodes.includes(code)) throw new UserError(`demo step "proxflare ${args.join(' ')}" exited with ${code}`);
      return code;
    };

    await run('two replicas: each its own LXC, files and unit; the second on node pve2', ['sync', '--yes']);
    await run('both serve', ['status']);
    await run('every check a sync needs, per replica', ['doctor']);

    await writeFile(lab.inventoryFile, haInventory(lab, '  catchAll: 503\n'));
    say('\n# a config change (tunnel.catchAll: 503) rolls through the replicas one at a time:');
    say('#   each is validated, swapped, restarted, then gated on /ready, its /config and the connections endpoint');
    await run('the rolling apply', ['sync', '--yes']);

    say('\n# cloudflared on cloudflared-2 is killed (SIGKILL): the unit is down, the edge drops its connections');
    const killed = await killCloudflared(secondHost, lab.cloudflare);
    io.stdout(`killed pid ${killed.pid} (connector ${killed.connectorId ?? 'unknown'})\n`);
    await run('status: degraded, naming the replica that is down; every route still answers through the edge, from cloudflared-1', [
      'status',
      '--public',
    ]);

    say(`\n# recovery: the watchdog on cloudflared-2 (${WATCHDOG_PATHS.timer.replace(/.*\//, '')}, every 10 s) checks /ready;`);
    say('#   each run below is one timer tick: after 3 failed checks it restarts cloudflared');
    for (let tick = 1; tick <= 3; tick++) io.stdout(`tick ${tick}: ${await watchdogTick(secondHost)}\n`);
    await edgeSeesRestart(secondHost, lab.cloudflare, killed.connectorId);
    await run('status: healthy again', ['status']);
    say('\nHA demo complete. Everything it started is being stopped.');
    if (flags.keep) io.stdout(`Kept ${lab.dir} and ${secondHost.dir} for inspection.\n`);
  } finally {
    if (!flags.keep) {
      await second?.close();
      await lab.close();
    }
  }
}

function demoIo(io: CliIo, lab: SimulatedHomelab, second: SandboxHost): CliIo {
  return {
    ...io,
    env: { ...io.env, ...lab.env },
    cwd: lab.dir,
    createPorts: (inv, reporter): Ports => {
      const ports = lab.createPorts(inv, reporter);
      return {
        ...ports,
        connect: async (target) => {
          // Its cloudflared registers with the simulated edge itself.
          return target.host === SECOND_SSH_HOST ? connectConnector(second.target()) : ports.connect(target);
        },
      };
    },
  };
}

async function killCloudflared(host: SandboxHost, cloudflare: CloudflareSim): Promise<{ pid: number; connectorId: string | undefined }> {
  const connectorId = await readyConnectorId(host);
  const pid = Number((await readFile(join(host.root, 'var/lib/proxflare-standin/systemd/cloudflared.service/pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  // Its sockets close with it: the simulated edge drops the registration as that news arrives.
  await edgeLists(
    cloudflare,
    (ids) => connectorId === undefined || !ids.includes(connectorId),
    'the killed connector to leave the connections endpoint',
  );
  return { pid, connectorId };
}

/** One run of the watchdog script on the replica, as its timer would start it. */
async function watchdogTick(host: SandboxHost): Promise<string> {
  const session = await SshSession.open(host.target({ host: host.host }));
  try {
    const result = await session.exec(
      RUN_STDIN_SCRIPT,
      wrap({ root: host.root, binDir: host.binDir, metrics: host.metrics }, [`"$R"${WATCHDOG_PATHS.script}`]),
    );
    if (result.code !== 0) throw new UserError(`demo: the watchdog failed: ${result.stderr.trim()}`);
    return result.stdout.trim() || '(/ready 200: nothing to do)';
  } finally {
    await session.close();
  }
}

async function readyConnectorId(host: SandboxHost): Promise<string | undefined> {
  const c = await connectConnector(host.target());
  try {
    return (await c.readiness()).connectorId;
  } finally {
    await c.close();
  }
}

/** The restarted cloudflared registers with the edge itself, under its new connector id. */
async function edgeSeesRestart(host: SandboxHost, cloudflare: CloudflareSim, previous: string | undefined): Promise<void> {
  const c = await connectConnector(host.target());
  let ready;
  try {
    ready = await c.readiness();
  } finally {
    await c.close();
  }
  if (ready.status !== 200 || !ready.connectorId || ready.connectorId === previous)
    throw new UserError(`demo: cloudflared-2 did not come back (/ready ${ready.detail})`);
  const id = ready.connectorId;
  await edgeLists(cloudflare, (ids) => ids.includes(id), 'the restarted connector on the connections endpoint');
}

/** Waits (checking each 20 ms, at most 10 s) until the connectors the edge lists satisfy `done`. */
async function edgeLists(cloudflare: CloudflareSim, done: (ids: string[]) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  const ids = () =>
    [...cloudflare.state.tunnels.values()].filter((t) => t.deleted_at === null).flatMap((t) => t.connectors.map((k) => k.id));
  while (!done(ids())) {
    if (Date.now() > deadline) throw new UserError(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
