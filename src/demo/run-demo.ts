import { writeFile } from 'node:fs/promises';
import type { CliContext } from '../cli/context.js';
import { globalOptions } from '../cli/context.js';
import type { CliIo } from '../cli/io.js';
import { UserError } from '../core/errors.js';
import type { DemoService } from './simulated-homelab.js';
import { DEMO_SERVICES, startSimulatedHomelab } from './simulated-homelab.js';

const ADDED: DemoService = { guest: 'jellyfin', hostname: 'requests.example.com', port: 5055 };

/** The demo protects one hostname with Cloudflare Access: the password vault. */
const PROTECTED = 'vault.example.com';
const ACCESS_SECTION = `access:\n  policies:\n    admins:\n      emails: [me@example.com]\n`;
const withAccess = (list: DemoService[]) => list.map((s) => (s.hostname === PROTECTED ? { ...s, access: 'admins' } : s));

/**
 * `proxflare demo`: the whole flow against the bundled simulated homelab. Everything it
 * starts listens on 127.0.0.0/8 and is stopped at the end.
 */
export async function runDemo(ctx: CliContext, flags: { keep: boolean }): Promise<void> {
  const { io } = ctx;
  const color = globalOptions(ctx).color;
  const say = (text: string) => io.stdout(`${color ? `\u001b[1;36m${text}\u001b[0m` : text}\n`);

  say('== proxflare demo: a simulated homelab, entirely on loopback ==');
  // The new service's origin already runs on its guest; publishing it is what the demo shows.
  const lab = await startSimulatedHomelab({ serveOrigins: true, extraOrigins: [ADDED], taskDurationMs: 300 });
  try {
    await writeFile(lab.inventoryFile, lab.inventoryYaml(withAccess(DEMO_SERVICES), ACCESS_SECTION));
    io.stdout(
      [
        `Proxmox VE API simulator   ${lab.proxmox.url} (self-signed; pinned by fingerprint)`,
        `Cloudflare API simulator   ${lab.cloudflare.url}`,
        `connector host             ${lab.host.kind === 'openssh' ? 'OpenSSH sshd' : 'in-process SSH server (no OpenSSH sshd on this machine)'} on 127.0.0.1:${lab.host.port},`,
        `                           playing the cloudflared LXC in a sandbox directory with a stand-in cloudflared`,
        `                           (no root/LXC used; the e2e tests run the same flow in a real container)`,
        `guests and hosts           HTTP servers on ${lab.origins?.listening.join(', ')}`,
        `inventory                  ${lab.inventoryFile}`,
        '',
      ].join('\n'),
    );

    const run = async (title: string, args: string[], expectCodes: number[] = [0]) => {
      say(`\n$ proxflare ${args.join(' ')}    # ${title}`);
      const code = await ctx.runCli(
        ['node', 'proxflare', '-i', lab.inventoryFile, ...(color ? [] : ['--no-color']), ...args],
        demoIo(io, lab),
      );
      if (!expectCodes.includes(code)) throw new UserError(`demo step "proxflare ${args.join(' ')}" exited with ${code}`);
      return code;
    };

    await run('what would change on a fresh homelab', ['sync', '--dry-run']);
    await run('apply it', ['sync', '--yes']);
    await run('a second run changes nothing', ['sync', '--dry-run', '--detailed-exitcode']);
    await run('what is exposed, as the plan sees it (also --format mermaid or --json)', ['graph', '--format', 'text']);

    await writeFile(lab.inventoryFile, lab.inventoryYaml(withAccess([...DEMO_SERVICES, ADDED]), ACCESS_SECTION));
    say(`\n# adding a service: three lines under guest "jellyfin" in ${lab.inventoryFile}:`);
    io.stdout(`      - hostname: ${ADDED.hostname}\n        port: ${ADDED.port}\n`);
    await run('the plan for the new service', ['sync', '--dry-run', '--detailed-exitcode'], [2]);
    await run('publish it', ['sync', '--yes']);
    await run('status: every route checked from the connector, then requested through the (simulated) Cloudflare edge as a visitor', [
      'status',
      '--public',
    ]);
    await run('doctor: every check a first-time user needs, each with its fix', ['doctor']);
    say('\nDemo complete. Everything it started is being stopped.');
    if (flags.keep) io.stdout(`Kept ${lab.dir} (inventory, sandbox connector) for inspection.\n`);
  } finally {
    if (!flags.keep) await lab.close();
  }
}

function demoIo(io: CliIo, lab: Awaited<ReturnType<typeof startSimulatedHomelab>>): CliIo {
  return { ...io, env: { ...io.env, ...lab.env }, cwd: lab.dir, createPorts: (inv, reporter) => lab.createPorts(inv, reporter) };
}
