/**
 * What a connector host needs to run cloudflared: config.yml, the credentials JSON and the unit,
 * rendered by proxflare's own templates so the container runs exactly what sync would deploy.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createRenderer } from '../../../src/render/templates.js';

export const CONFIG_PATH = '/etc/cloudflared/config.yml';

export interface TunnelIdentity {
  tunnelId: string;
  accountTag: string;
  /** Base64 of 32 random bytes; test-only, but still never printed. */
  secret: string;
}

export function newTunnel(): TunnelIdentity {
  return { tunnelId: randomUUID(), accountTag: randomBytes(16).toString('hex'), secret: randomBytes(32).toString('base64') };
}

export function credentialsPath(tunnel: TunnelIdentity): string {
  return `/etc/cloudflared/${tunnel.tunnelId}.json`;
}

export function credentialsJson(tunnel: TunnelIdentity, tunnelId = tunnel.tunnelId): string {
  return `${JSON.stringify({ AccountTag: tunnel.accountTag, TunnelSecret: tunnel.secret, TunnelID: tunnelId, Endpoint: '' })}\n`;
}

const renderer = createRenderer();

/** config.yml as proxflare renders it (templates/config.yml.hbs, ordered rules, 404 catch-all). */
export function configYaml(tunnel: TunnelIdentity, routes: { hostname: string; service: string }[]): string {
  return renderer.renderConfig({ tunnelId: tunnel.tunnelId, credentialsFile: credentialsPath(tunnel), rules: routes });
}

/** The unit as proxflare renders it (templates/cloudflared.service.hbs). */
export function cloudflaredUnit(): string {
  return renderer.renderUnit({ binary: '/usr/bin/cloudflared', configPath: CONFIG_PATH });
}
