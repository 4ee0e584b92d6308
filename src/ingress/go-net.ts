/**
 * The pieces of Go's net and net/url packages that cloudflared's ingress validation
 * depends on, reproduced so our verdicts and error texts match the real binary.
 * WHATWG `URL` differs too much (it normalises, percent-encodes and rejects
 * things Go accepts), so this is a port of Go's parsing rules, not a wrapper.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface GoUrl {
  scheme: string;
  opaque: string;
  userinfo: string;
  /** host[:port] as written (brackets kept for IPv6). */
  host: string;
  /** Decoded path. */
  path: string;
  rawQuery: string;
  forceQuery: boolean;
  fragment: string;
}

/** Go's strconv.Quote for the characters that matter in error messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

class UrlError extends Error {}

/** Go's url.Parse. Returns the parsed URL or Go's error text (`parse "…": …`). */
export function parseGoUrl(raw: string): { ok: true; url: GoUrl } | { ok: false; error: string } {
  const hash = raw.indexOf('#');
  const u = hash < 0 ? raw : raw.slice(0, hash);
  const frag = hash < 0 ? '' : raw.slice(hash + 1);
  try {
    const url = parseWithoutFragment(u);
    if (frag !== '') {
      try {
        url.fragment = unescape(frag, 'fragment');
      } catch (err) {
        if (err instanceof UrlError) return { ok: false, error: `parse ${goQuote(raw)}: ${err.message}` };
        throw err;
      }
    }
    return { ok: true, url };
  } catch (err) {
    if (err instanceof UrlError) return { ok: false, error: `parse ${goQuote(u)}: ${err.message}` };
    throw err;
  }
}

function parseWithoutFragment(raw: string): GoUrl {
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new UrlError('net/url: invalid control character in URL');
  const url: GoUrl = { scheme: '', opaque: '', userinfo: '', host: '', path: '', rawQuery: '', forceQuery: false, fragment: '' };
  if (raw === '*') {
    url.path = '*';
    return url;
  }
  let { scheme, rest } = getScheme(raw);
  url.scheme = scheme.toLowerCase();
  if (rest.endsWith('?') && rest.split('?').length === 2) {
    url.forceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf('?');
    if (q >= 0) {
      url.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      url.opaque = rest;
      return url;
    }
    const slash = rest.indexOf('/');
    const segment = slash < 0 ? rest : rest.slice(0, slash);
    if (segment.includes(':')) throw new UrlError('first path segment in URL cannot contain colon');
  }
  if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slash = authority.indexOf('/');
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const parsed = parseAuthority(authority);
    url.userinfo = parsed.userinfo;
    url.host = parsed.host;
  }
  url.path = unescape(rest, 'path');
  return url;
}

function getScheme(raw: string): { scheme: string; rest: string } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new UrlError('missing protocol scheme');
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

function parseAuthority(authority: string): { userinfo: string; host: string } {
  const at = authority.lastIndexOf('@');
  const host = parseHost(at < 0 ? authority : authority.slice(at + 1));
  if (at < 0) return { userinfo: '', host };
  const userinfo = authority.slice(0, at);
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) throw new UrlError('net/url: invalid userinfo');
  return { userinfo, host };
}

function validOptionalPort(port: string): boolean {
  return port === '' || /^:[0-9]*$/.test(port);
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) throw new UrlError("missing ']' in host");
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${goQuote(colonPort)} after host`);
  } else {
    const i = host.lastIndexOf(':');
    if (i >= 0) {
      const colonPort = host.slice(i);
      if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${goQuote(colonPort)} after host`);
    }
  }
  const decoded = unescape(host, 'host');
  for (const ch of decoded) {
    if (ch === ' ' || (ch.length === 1 && ch.charCodeAt(0) < 0x20)) {
      throw new UrlError(`invalid character ${goQuote(ch)} in host name`);
    }
  }
  return decoded;
}

function unescape(s: string, mode: 'path' | 'host' | 'fragment'): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length;) {
    if (s[i] === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        throw new UrlError(`invalid URL escape ${goQuote(s.slice(i, Math.min(i + 3, s.length)))}`);
      }
      if (mode === 'host' && parseInt(hex, 16) < 0x80 && hex !== '25') {
        throw new UrlError(`invalid URL escape ${goQuote(s.slice(i, i + 3))}`);
      }
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else {
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Go's URL.Hostname(): the host without port and without IPv6 brackets. */
export function goUrlHostname(u: GoUrl): string {
  const { host } = splitHostPortLoose(u.host);
  return host;
}

/** Go's URL.Port(). */
export function goUrlPort(u: GoUrl): string {
  return splitHostPortLoose(u.host).port;
}

function splitHostPortLoose(hostport: string): { host: string; port: string } {
  let host = hostport;
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && /^:[0-9]*$/.test(host.slice(colon))) {
    port = host.slice(colon + 1);
    host = host.slice(0, colon);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port };
}

/** Go's URL.String() for the URL shapes an ingress service can have. */
export function goUrlString(u: GoUrl): string {
  let out = '';
  if (u.scheme !== '') out += `${u.scheme}:`;
  if (u.opaque !== '') {
    out += u.opaque;
  } else {
    if (u.scheme !== '' || u.host !== '' || u.userinfo !== '') {
      if (u.host !== '' || u.path !== '' || u.userinfo !== '') out += '//';
      if (u.userinfo !== '') out += `${u.userinfo}@`;
      out += u.host;
    }
    out += u.path;
  }
  if (u.forceQuery || u.rawQuery !== '') out += `?${u.rawQuery}`;
  if (u.fragment !== '') out += `#${u.fragment}`;
  return out;
}

/** Go's net.SplitHostPort; only success matters to cloudflared. */
export function goSplitHostPort(hostport: string): { host: string; port: string } | undefined {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return undefined;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return undefined;
    if (end + 1 === hostport.length) return undefined;
    if (end + 1 !== i) return undefined;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return undefined;
  }
  if (hostport.slice(j).includes('[')) return undefined;
  if (hostport.slice(k).includes(']')) return undefined;
  return { host, port: hostport.slice(i + 1) };
}

/** Go's net.ParseCIDR acceptance. */
export function isGoCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  if (isIPv4(addr)) return n <= 32 && !/(^|\.)0[0-9]/.test(addr);
  if (isIPv6(addr) && !addr.includes('%')) return n <= 128;
  return false;
}
