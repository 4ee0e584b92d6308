import { ProviderError } from '../core/errors.js';
import type { ConnectorSpec } from '../inventory/types.js';
import type { ResolvedTemplate } from '../ports/proxmox.js';
import type { ReadCall } from './busy.js';
import { parseTemplateVolid } from '../core/pve-config.js';
import { byCodePoint } from '../core/compare.js';

/**
 * `connector.template` is either an OS + release (`debian-12`, `debian-13`, `ubuntu-24.04`),
 * resolved on the node to the newest `<os>-standard_<version>_<arch>.tar.*` of its appliance index,
 * or a full volid (`local:vztmpl/<file>`) used as a pin. Proxmox drops old template versions from
 * the index (debian-12-standard 12.7-1 left it on 2025-09-07), so a hard-coded file name stops
 * working on fresh nodes; the symbolic form keeps working.
 */

export const SYMBOLIC_TEMPLATE = /^[a-z][a-z0-9]*-\d+(?:\.\d+)*$/;

export function isSymbolicTemplate(template: string): boolean {
  return SYMBOLIC_TEMPLATE.test(template);
}

/** Debian-like version order on the digit and letter runs: 12.12-1 > 12.7-1 > 12.2-1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.match(/\d+|[a-z]+/gi) ?? [];
  const pb = b.match(/\d+|[a-z]+/gi) ?? [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isNaN(nx) || Number.isNaN(ny) ? byCodePoint(x, y) : nx - ny;
    if (c !== 0) return c;
  }
  return 0;
}

/** The newest `<os>-standard_<version>_<arch>.tar.(zst|xz|gz)` among `files`, for arch amd64. */
export function newestStandardTemplate(requested: string, files: Iterable<string>, arch = 'amd64'): string | undefined {
  const escaped = requested.replace(/[.]/g, '\\.');
  const re = new RegExp(`^${escaped}-standard_([^_]+)_${arch}\\.tar\\.(?:zst|xz|gz)$`);
  let best: { file: string; version: string } | undefined;
  for (const file of files) {
    const m = re.exec(file);
    if (m && (!best || compareVersions(m[1]!, best.version) > 0)) best = { file, version: m[1]! };
  }
  return best?.file;
}

interface AplinfoRow {
  template?: string;
  type?: string;
}

interface StorageRow {
  storage: string;
  content?: string;
}

/**
 * Resolve connector.template on its node. A pin is returned as is; an OS + release is looked up in
 * GET /nodes/{node}/aplinfo (README-pve §4.5; the node's cached index, no network), falling back to
 * the newest matching template already in the template storage when the index has none.
 */
export async function resolveTemplate(read: ReadCall, spec: ConnectorSpec): Promise<ResolvedTemplate> {
  if (!isSymbolicTemplate(spec.template)) return { requested: spec.template, volid: spec.template };
  const node = spec.node;
  const [index, storages] = await Promise.all([
    read<AplinfoRow[]>('read the appliance index (aplinfo)', (api) => api.nodes.$(node).aplinfo.$get()),
    read<StorageRow[]>('list template storages', (api) => api.nodes.$(node).storage.$get({ content: 'vztmpl' })),
  ]);
  const storage = storages.find((s) => s.storage === 'local')?.storage ?? storages[0]?.storage;
  if (!storage)
    throw new ProviderError(
      'proxmox',
      `resolve connector.template "${spec.template}"`,
      `node ${node} has no storage for container templates (content vztmpl) that this token can see`,
      `grant Datastore.Audit on /storage/local, or enable content "vztmpl" on a storage (pvesm set local --content iso,vztmpl,backup)`,
    );
  const fromIndex = newestStandardTemplate(
    spec.template,
    (index ?? []).filter((r) => r.type === undefined || r.type === 'lxc').map((r) => r.template ?? ''),
  );
  if (fromIndex) return { requested: spec.template, volid: `${storage}:vztmpl/${fromIndex}` };
  const content = await read<{ volid: string }[]>(`list templates on storage ${storage}`, (api) =>
    api.nodes.$(node).storage.$(storage).content.$get({ content: 'vztmpl' }),
  );
  const local = newestStandardTemplate(
    spec.template,
    content.map((c) => parseTemplateVolid(c.volid).file.replace(/^vztmpl\//, '')),
  );
  if (local) return { requested: spec.template, volid: `${storage}:vztmpl/${local}` };
  throw new ProviderError(
    'proxmox',
    `resolve connector.template "${spec.template}"`,
    `the appliance index of node ${node} lists no ${spec.template}-standard template and none is downloaded`,
    `run \`pveam update\` on ${node} (it refreshes the index), check \`pveam available --section system\`, or pin a template volid such as local:vztmpl/<file>`,
  );
}
