/**
 * Where today's Cloudflare API differs from the 2024 schema snapshot, over real sockets against
 * the simulator: connectors from the connections endpoint, IDN zones, a lost batch answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { watchConnectorRestart } from '../../../src/apply/connector-wait.js';
import { ProviderError } from '../../../src/core/errors.js';
import type { Reporter } from '../../../src/core/reporter.js';
import { tunnelTarget } from '../../../src/plan/plan-dns.js';
import { startCloudflareSim, type CloudflareSim } from '../../../src/sim/cloudflare/start-cloudflare-sim.js';
import { actions, adapterFor, applySync, planSync } from './support.js';

const TUNNEL = 'homelab';

let sim: CloudflareSim | undefined;
afterEach(async () => {
  expect(sim?.validationFailures ?? []).toEqual([]);
  await sim?.close();
  sim = undefined;
});

interface RecordingReporter extends Reporter {
  warnings: string[];
  finished: string[];
}

function recordingReporter(): RecordingReporter {
  const warnings: string[] = [];
  const finished: string[] = [];
  return {
    warnings,
    finished,
    info() {},
    debug() {},
    step() {},
    warn: (message) => warnings.push(message),
    done: (address, message) => finished.push(`${address} ${message ?? ''}`.trim()),
  };
}

describe('restart wait on the connections endpoint', () => {
  it('ends at the first read that lists the restarted connector', async () => {
    sim = await startCloudflareSim();
    const tunnel = sim.state.seedTunnel(sim.accountId, TUNNEL);
    const oldConnector = sim.state.setTunnelConnections(tunnel.id, 4);
    const cf = adapterFor(sim, []);
    const reporter = recordingReporter();
    const watch = await watchConnectorRestart({
      cloudflare: cf,
      reporter,
      accountId: sim.accountId,
      tunnelId: tunnel.id,
      address: `tunnel/${TUNNEL}`,
    });
    // The restart: cloudflared comes back under a new connector id.
    const newConnector = sim.state.setTunnelConnections(tunnel.id, 4, { version: '2026.8.2' });
    expect(newConnector).not.toBe(oldConnector);
    const before = sim.requests.length;
    await watch.waitForRestarted();
    expect(sim.requests.slice(before).map((r) => r.operationId)).toEqual(['cloudflare-tunnel-list-cloudflare-tunnel-connections']);
    expect(reporter.finished).toEqual([`tunnel/${TUNNEL} connector ${newConnector} (cloudflared 2026.8.2), 4 connections`]);
    expect(reporter.warnings).toEqual([]);
  });

  it('does not take the connector from before the restart for the restarted one', async () => {
    sim = await startCloudflareSim();
    const tunnel = sim.state.seedTunnel(sim.accountId, TUNNEL);
    const oldConnector = sim.state.setTunnelConnections(tunnel.id, 4)!;
    const reporter = recordingReporter();
    const watch = await watchConnectorRestart({
      cloudflare: adapterFor(sim, []),
      reporter,
      accountId: sim.accountId,
      tunnelId: tunnel.id,
      address: `tunnel/${TUNNEL}`,
      timeoutMs: 0,
    });
    await watch.waitForRestarted();
    expect(reporter.finished).toEqual([]);
    expect(reporter.warnings).toHaveLength(1);
    expect(reporter.warnings[0]).toContain(`only connectors from before the restart are listed (${oldConnector})`);
  });
});

describe('internationalised zones', () => {
  const ZONE = 'xn--bcher-kva.example';

  it('plans and applies in an IDN zone the API names in Unicode, then plans no-ops', async () => {
    sim = await startCloudflareSim({ zones: [{ name: 'bücher.example' }] });
    const input = { tunnelName: TUNNEL, hostnames: [`wiki.${ZONE}`], zones: [ZONE] };
    const cf = adapterFor(sim, [ZONE]);
    const plan = await planSync(cf, sim.accountId, input);
    expect(actions(plan)).toEqual([`create dns/wiki.${ZONE}`]);
    const { tunnelId } = await applySync(cf, sim.accountId, plan);
    expect(sim.state.records(ZONE).map((r) => [r.name, r.content])).toEqual([[`wiki.${ZONE}`, tunnelTarget(tunnelId)]]);
    // The zone lookup asked for the Unicode name, which is the form the API matches.
    const lookup = sim.requests.find((r) => r.operationId === 'zones-get')!;
    expect(new URLSearchParams(lookup.query).get('name')).toBe('bücher.example');
    const again = await planSync(adapterFor(sim, [ZONE]), sim.accountId, input);
    expect(actions(again)).toEqual([`noop dns/wiki.${ZONE}`]);
  });
});

describe('a DNS batch whose answer is lost', () => {
  const ZONE = 'example.com';

  it('is sent once, re-read, and reported as applied when it was; a re-run converges', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const reporter = recordingReporter();
    const cf = adapterFor(sim, [ZONE], { reporter });
    const input = { tunnelName: TUNNEL, hostnames: ['a.example.com', 'b.example.com'], zones: [ZONE] };
    const plan = await planSync(cf, sim.accountId, input);
    sim.faults.dropAnswer(1, { path: '/dns_records/batch', method: 'POST' });
    await applySync(cf, sim.accountId, plan);
    const batches = sim.requests.filter((r) => r.operationId === 'x-derived-dns-records-batch');
    expect(batches.map((b) => b.status)).toEqual([-2]);
    expect(reporter.warnings).toEqual([
      'cloudflare: zone example.com: the answer to batch 1 of 1 (post a.example.com, post b.example.com) was lost; re-reading the zone shows all 2 of its changes in place',
    ]);
    expect(
      sim.state
        .records(ZONE)
        .map((r) => r.name)
        .sort(),
    ).toEqual(['a.example.com', 'b.example.com']);
    const again = await planSync(adapterFor(sim, [ZONE]), sim.accountId, input);
    expect(actions(again)).toEqual(['noop dns/a.example.com', 'noop dns/b.example.com']);
  });

  it('says none of it is in place when the connection dropped before the batch ran; a re-run converges', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }] });
    const cf = adapterFor(sim, [ZONE]);
    const input = { tunnelName: TUNNEL, hostnames: ['a.example.com'], zones: [ZONE] };
    const plan = await planSync(cf, sim.accountId, input);
    sim.faults.dropConnection(1, { path: '/dns_records/batch', method: 'POST' });
    const err = await applySync(cf, sim.accountId, plan).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    const message = (err as ProviderError).message;
    expect(message).toContain('the answer to batch 1 of 1 (post a.example.com) was lost');
    expect(message).toContain('re-reading the zone shows none of its 1 changes in place; 0 of 1 changes are in place');
    expect(message).not.toContain('rolled back');
    expect(sim.requests.filter((r) => r.path.endsWith('/dns_records/batch')).map((r) => r.status)).toEqual([-1]);
    const rerun = adapterFor(sim, [ZONE]);
    await applySync(rerun, sim.accountId, await planSync(rerun, sim.accountId, input));
    expect(actions(await planSync(adapterFor(sim, [ZONE]), sim.accountId, input))).toEqual(['noop dns/a.example.com']);
  });

  it('without the batch endpoint: a create whose answer is lost is sent once and found in place', async () => {
    sim = await startCloudflareSim({ zones: [{ name: ZONE }], batch: false });
    const reporter = recordingReporter();
    const cf = adapterFor(sim, [ZONE], { reporter });
    const input = { tunnelName: TUNNEL, hostnames: ['a.example.com'], zones: [ZONE] };
    const plan = await planSync(cf, sim.accountId, input);
    sim.faults.dropAnswer(1, { path: /\/dns_records$/, method: 'POST' });
    await applySync(cf, sim.accountId, plan);
    const creates = sim.requests.filter((r) => r.operationId === 'dns-records-for-a-zone-create-dns-record');
    expect(creates.map((r) => r.status)).toEqual([-2]);
    expect(reporter.warnings).toEqual([
      'cloudflare: zone example.com: the answer to post a.example.com was lost; re-reading the zone shows all 1 of its changes in place',
    ]);
    expect(sim.state.records(ZONE)).toHaveLength(1);
  });
});
