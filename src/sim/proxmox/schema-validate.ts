import { isIPv4, isIPv6 } from 'node:net';

/**
 * Parameter validation the way pve-common `PVE::JSONSchema` does it: same checks, same
 * order, same messages. The simulator validates against the schema, never against what
 * our client happens to send, so a malformed request fails here exactly as on a real node.
 */

export interface PropSchema {
  type?: string;
  optional?: number;
  format?: string | Record<string, PropSchema>;
  pattern?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  default_key?: number;
  requires?: string;
}

export type ParamValue = string | string[];
export type Errors = Record<string, string>;

/** Keys the schema shows collapsed as `net[n]`; the server accepts net0..net31 etc. */
const INDEXED_MAX: Record<string, number> = { net: 31, mp: 255, unused: 255, dev: 255, ipconfig: 31 };

export function lookupProperty(properties: Record<string, PropSchema>, key: string): PropSchema | undefined {
  const direct = properties[key];
  if (direct) return direct;
  const m = /^([a-z]+)(\d+)$/.exec(key);
  if (!m) return undefined;
  const [, base, index] = m as unknown as [string, string, string];
  const collapsed = properties[`${base}[n]`];
  const max = INDEXED_MAX[base];
  if (!collapsed || max === undefined || Number(index) > max) return undefined;
  return collapsed;
}

function addError(errors: Errors, path: string, msg: string): void {
  const p = path || '_root';
  // Perl joins with the two characters backslash + n (single-quoted '\n').
  errors[p] = errors[p] ? `${errors[p]}\\n${msg}` : msg;
}

class FormatError extends Error {
  constructor(
    message: string,
    readonly errors?: Errors,
  ) {
    super(message);
  }
  /** How PVE::Exception stringifies: message, then "key: msg" per nested error. */
  render(): string {
    let out = this.message;
    if (this.errors) for (const k of Object.keys(this.errors).sort()) out += `${k}: ${this.errors[k]}\n`;
    return out;
  }
}

const isInteger = (v: string) => /^[+-]?\d+$/.test(v);
const isNumber = (v: string) => /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/.test(v);
const DNS_LABEL = '([a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?)';
const DNS_NAME = new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`);
const ID_RE = /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i;

function cidrOk(v: string, family: 4 | 6): boolean {
  const m = /^(.+)\/(\d+)$/.exec(v);
  if (!m) return false;
  const bits = Number(m[2]);
  return family === 4 ? isIPv4(m[1]!) && bits > 7 && bits <= 32 : isIPv6(m[1]!) && bits > 7 && bits <= 128;
}

function parseSplitList(v: string): string[] {
  return v.split(/[;,\s\0]+/).filter((x) => x !== '');
}

/** Named formats (pve-common and pve-container registrations) used by the endpoints we serve. */
const NAMED: Record<string, (v: string) => void> = {
  'pve-node': (v) => {
    if (!/^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/.test(v)) throw new FormatError('value does not look like a valid node name\n');
  },
  'pve-vmid': (v) => {
    if (!/^[1-9][0-9]{2,8}$/.test(v)) throw new FormatError('value does not look like a valid VM ID\n');
  },
  'pve-storage-id': (v) => {
    if (!ID_RE.test(v)) throw new FormatError(`storage ID '${v}' contains illegal characters\n`);
  },
  'pve-poolid': (v) => {
    if (!/^[A-Za-z0-9_\-.]+$/.test(v)) throw new FormatError(`invalid pool ID '${v}'\n`);
  },
  'pve-volume-id': (v) => {
    if (!/^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.test(v)) throw new FormatError(`unable to parse volume ID '${v}'\n`);
  },
  'dns-name': (v) => {
    if (!DNS_NAME.test(v)) throw new FormatError('value does not look like a valid DNS name\n');
  },
  ipv4: (v) => {
    if (!isIPv4(v)) throw new FormatError('value does not look like a valid IPv4 address\n');
  },
  ipv6: (v) => {
    if (!isIPv6(v)) throw new FormatError('value does not look like a valid IPv6 address\n');
  },
  'mac-addr': (v) => {
    if (!/^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i.test(v))
      throw new FormatError('value does not look like a valid unicast MAC address\n');
  },
  'pve-ipv4-config': (v) => {
    if (!/^(?:dhcp|manual)$/.test(v) && !cidrOk(v, 4))
      throw new FormatError('value does not look like a valid ipv4 network configuration\n');
  },
  'pve-ipv6-config': (v) => {
    if (!/^(?:auto|dhcp|manual)$/.test(v) && !cidrOk(v, 6))
      throw new FormatError('value does not look like a valid ipv6 network configuration\n');
  },
  'disk-size': (v) => {
    if (!/^(\d+(\.\d+)?)([KMGT])?$/.test(v)) throw new FormatError(`value does not look like a valid disk size: ${v}\n`);
  },
  'pve-tag': (v) => {
    if (!/^[a-z0-9_][a-z0-9_\-+.]*$/i.test(v)) throw new FormatError('invalid characters in tag\n');
  },
  'pve-configid': (v) => {
    if (!/^[a-z][a-z0-9_-]+$/i.test(v)) throw new FormatError(`invalid configuration ID '${v}'\n`);
  },
  'pve-storage-content': (v) => {
    if (!/^(images|rootdir|vztmpl|iso|backup|snippets|import|none)$/.test(v)) throw new FormatError(`invalid content type '${v}'\n`);
  },
  'pve-startup-order': (v) => {
    for (const p of v.split(',')) {
      if (/^\s*$/.test(p)) continue;
      if (!/^(order=)?\d+$/.test(p) && !/^up=\d+$/.test(p) && !/^down=\d+$/.test(p))
        throw new FormatError('unable to parse startup options\n');
    }
  },
  // Checked by pve-container against the filesystem / host; accepted here (not simulated).
  'pve-lxc-mp-string': () => {},
  'pve-lxc-dev-string': () => {},
  'pve-ct-timezone': () => {},
  'lxc-ip-with-ll-iface': (v) => {
    const ip = v.replace(/%[^%]+$/, '');
    if (!isIPv4(ip) && !isIPv6(ip)) throw new FormatError(`unable to parse IP address '${v}'\n`);
  },
};

function checkFormat(format: string | Record<string, PropSchema>, value: string, path: string): void {
  if (typeof format === 'object') {
    parsePropertyString(format, value, path);
    return;
  }
  const m = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
  const name = m[1]!;
  const kind = m[2] ?? 'none';
  const fn = NAMED[name];
  if (!fn) return; // formats we do not simulate are accepted
  if (kind === 'list') for (const v of parseSplitList(value)) fn(v);
  else if (kind === 'opt') {
    if (value) fn(value);
  } else fn(value);
}

export function parsePropertyString(format: Record<string, PropSchema>, data: string, path: string): Record<string, string> {
  const res: Record<string, string> = {};
  let defaultKey: string | undefined;
  for (const part of data.split(',')) {
    if (/^\s*$/.test(part)) continue;
    const kv = /^([^=]+)=(.+)$/.exec(part);
    if (kv) {
      const k = kv[1]!;
      let v = kv[2]!;
      if (res[k] !== undefined) throw new FormatError(`duplicate key in comma-separated list property: ${k}\n`);
      const schema = format[k];
      if (!schema) throw new FormatError(`invalid key in comma-separated list property: ${k}\n`);
      if (schema.type === 'boolean') {
        if (/^(1|on|yes|true)$/i.test(v)) v = '1';
        else if (/^(0|off|no|false)$/i.test(v)) v = '0';
      }
      res[k] = v;
    } else if (!part.includes('=')) {
      if (defaultKey) throw new FormatError(`duplicate key in comma-separated list property: ${defaultKey}\n`);
      const dk = Object.keys(format).find((key) => format[key]!.default_key);
      if (!dk) throw new FormatError('value without key, but schema does not define a default key\n');
      defaultKey = dk;
      res[dk] = part;
    } else {
      throw new FormatError('missing key in comma-separated list property\n');
    }
  }
  const errors: Errors = {};
  checkObject(path, format, res, false, errors);
  if (Object.keys(errors).length > 0) throw new FormatError('format error\n', errors);
  return res;
}

function checkType(path: string, type: string | undefined, value: ParamValue, errors: Errors): boolean {
  if (!type || type === 'any') return true;
  if (type === 'array') {
    if (!Array.isArray(value)) {
      addError(errors, path, `type check ('array') failed`);
      return false;
    }
    return true;
  }
  if (Array.isArray(value)) {
    addError(errors, path, `type check ('${type}') failed - got ARRAY`);
    return false;
  }
  if (type === 'boolean' && value !== '1' && value !== '0') {
    addError(errors, path, `type check ('boolean') failed - got '${value}'`);
    return false;
  }
  if (type === 'integer' && !isInteger(value)) {
    addError(errors, path, `type check ('integer') failed - got '${value}'`);
    return false;
  }
  if (type === 'number' && !isNumber(value)) {
    addError(errors, path, `type check ('number') failed - got '${value}'`);
    return false;
  }
  return true;
}

export function checkProp(value: ParamValue | undefined, schema: PropSchema, path: string, errors: Errors): void {
  if (value === undefined) {
    if (!schema.optional) addError(errors, path, 'property is missing and it is not optional');
    return;
  }
  if (!checkType(path, schema.type, value, errors)) return;
  if (Array.isArray(value)) return;
  if (schema.format !== undefined) {
    try {
      checkFormat(schema.format, value, path);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      addError(errors, path, `invalid format - ${e.render()}`);
      return;
    }
  }
  if (schema.pattern !== undefined && !new RegExp(`^${schema.pattern}$`).test(value)) {
    addError(errors, path, 'value does not match the regex pattern');
    return;
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    addError(errors, path, `value may only be ${schema.maxLength} characters long`);
    return;
  }
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    addError(errors, path, `value must be at least ${schema.minLength} characters long`);
    return;
  }
  if (isNumber(value)) {
    if (schema.maximum !== undefined && Number(value) > schema.maximum) {
      addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
      return;
    }
    if (schema.minimum !== undefined && Number(value) < schema.minimum) {
      addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    addError(errors, path, `value '${value}' does not have a value in the enumeration '${schema.enum.join(', ')}'`);
  }
}

export function checkObject(
  path: string,
  properties: Record<string, PropSchema>,
  value: Record<string, ParamValue>,
  additionalProperties: boolean,
  errors: Errors,
): void {
  const join = (k: string) => (path ? `${path}.${k}` : k);
  for (const k of Object.keys(properties)) {
    if (k.endsWith('[n]')) continue; // the collapsed form is never required
    checkProp(value[k], properties[k]!, join(k), errors);
  }
  for (const k of Object.keys(value)) {
    const sub = properties[k] ?? lookupProperty(properties, k);
    if (sub) {
      if (!properties[k]) checkProp(value[k], sub, join(k), errors);
      if (sub.requires && value[sub.requires] === undefined)
        addError(errors, join(sub.requires), `missing property - '${join(k)}' requires this property`);
      continue;
    }
    if (!additionalProperties) {
      addError(errors, join(k), 'property is not defined in schema and the schema does not allow additional properties');
    }
  }
}

/** Returns the `errors` map of a 400 `Parameter verification failed.`, or undefined when valid. */
export function validateParams(
  properties: Record<string, PropSchema>,
  params: Record<string, ParamValue>,
  additionalProperties = false,
): Errors | undefined {
  const errors: Errors = {};
  checkObject('', properties, params, additionalProperties, errors);
  return Object.keys(errors).length > 0 ? errors : undefined;
}
