import { readFile, writeFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { inventoryJsonSchema, inventoryReferenceMarkdown } from '../../../src/inventory/json-schema.js';
import { ORIGIN_REQUEST_KEYS } from '../../../src/inventory/schema.js';

const COMMITTED = new URL('../../../inventory.schema.json', import.meta.url);
const EXAMPLE = new URL('../../../inventory.yaml', import.meta.url);
const generated = `${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`;

describe('inventory JSON Schema', () => {
  it('matches the committed inventory.schema.json (regenerate with UPDATE_INVENTORY_SCHEMA=1)', async () => {
    if (process.env.UPDATE_INVENTORY_SCHEMA === '1') await writeFile(COMMITTED, generated);
    expect(await readFile(COMMITTED, 'utf8')).toBe(generated);
  });

  it('is a valid draft-07 schema with descriptions that editors show', () => {
    const schema = inventoryJsonSchema() as {
      properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }>;
    };
    expect(new Ajv({ strict: false }).validateSchema(schema)).toBe(true);
    for (const [section, node] of Object.entries(schema.properties)) {
      expect(node.description, section).toBeTruthy();
      for (const [key, child] of Object.entries(node.properties ?? {})) expect(child.description, `${section}.${key}`).toBeTruthy();
    }
  });

  it('accepts the example inventory as an editor would see it (before ${VAR} expansion)', async () => {
    const data = parse(await readFile(EXAMPLE, 'utf8'), { merge: true }) as Record<string, unknown>;
    const validate = new Ajv({ strict: false }).compile(inventoryJsonSchema());
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    const invalid = structuredClone(data) as { guests: { services: { originRequest?: object }[] }[] };
    invalid.guests[0]!.services[0]!.originRequest = { noTlsVerify: true };
    expect(validate(invalid)).toBe(false);
    const withReference = structuredClone(data) as { guests: { services: { port: unknown }[] }[] };
    withReference.guests[0]!.services[0]!.port = '${MEDIA_PORT}';
    expect(validate(withReference)).toBe(true);
    withReference.guests[0]!.services[0]!.port = 70000;
    expect(validate(withReference)).toBe(false);
  });

  it("lists exactly cloudflared's originRequest keys", () => {
    const schema = inventoryJsonSchema() as any;
    const originRequest = schema.properties.guests.items.properties.services.items.properties.originRequest;
    expect(Object.keys(originRequest.properties).sort()).toEqual([...ORIGIN_REQUEST_KEYS].sort());
    expect(originRequest.additionalProperties).toBe(false);
  });

  it('renders a Markdown reference table from the same schema', () => {
    const md = inventoryReferenceMarkdown();
    const lines = md.trimEnd().split('\n');
    expect(lines[0]).toBe('| Field | Type | Default | Description |');
    expect(lines).toContain(
      '| `guests[].services[].port` | integer 1–65535 |  | Port of the service on the guest or host (for http, https, tcp, ssh, rdp). |',
    );
    expect(
      lines.some((l) =>
        l.startsWith(
          '| `guests[].services[].scheme` | http \\| https \\| tcp \\| ssh \\| rdp \\| unix \\| unix+tls \\| http_status \\| hello_world \\| bastion \\| socks | `http` | How cloudflared talks to the origin',
        ),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.startsWith('| `hosts[].proxmoxNode` | boolean | `false` |'))).toBe(true);
    expect(lines.some((l) => l.startsWith('| `tunnel.catchAll` | integer 100–999 \\| string | `404` |'))).toBe(true);
    expect(lines).toContain('| `proxmox.url` | string | **required** | Proxmox API URL; port defaults to 8006. |');
    expect(lines.some((l) => l.startsWith('| `connector.ssh.jump.port` | integer 1–65535 | `22` |'))).toBe(true);
    for (const line of lines.slice(2)) expect(line.split(/(?<!\\)\|/).length, line).toBe(6);
  });
});
