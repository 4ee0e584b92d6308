import type { AccessAppView, AccessChange, AccessPolicyView, ExposureEntry } from './access-changes.js';
import { AUD_PLACEHOLDER_PATTERN } from './access-changes.js';
import { exposureLine } from './plan-exposure.js';
import { UNKNOWN } from './types.js';

/** Plan text for Access changes and the Exposure section. Pure; never shows a secret. */
export function renderAccessBody(change: AccessChange): string[] {
  switch (change.kind) {
    case 'service-token':
      if (change.action === 'create') {
        return [
          `name: ${change.after!.name}`,
          `duration: ${change.after!.duration}`,
          `client secret: (sensitive) → written once to ${change.secretFile} (0600)`,
        ];
      }
      return [`name: ${change.before?.name ?? change.after?.name ?? ''}`];
    case 'access-policy':
      return fieldDiff(policyFields(change.before), policyFields(change.after), change.action);
    case 'access-app':
      return fieldDiff(appFields(change.before), appFields(change.after), change.action);
  }
}

function policyFields(v: AccessPolicyView | undefined): [string, string][] | undefined {
  if (!v) return undefined;
  return [
    ['name', v.name],
    ['decision', v.decision],
    ['include', v.include.join(', ') || '(none)'],
    ...(v.require.length > 0 ? ([['require', v.require.join(', ')]] as [string, string][]) : []),
  ];
}

function appFields(v: AccessAppView | undefined): [string, string][] | undefined {
  if (!v) return undefined;
  return [
    ['name', v.name],
    ['destination', v.domain],
    ['policies', v.policies.join(', ') || '(none)'],
    ['session', v.sessionDuration],
    ['public paths', v.publicPaths.join(', ') || '(none)'],
    ...(v.allowedIdps.length > 0 ? ([['allowed idps', v.allowedIdps.join(', ')]] as [string, string][]) : []),
    ['tags', v.tags.join(', ') || '(none)'],
    ['aud', v.aud],
  ];
}

function fieldDiff(before: [string, string][] | undefined, after: [string, string][] | undefined, action: string): string[] {
  if (action === 'delete' || !after) return (before ?? []).map(([k, v]) => `${k}: ${v}`);
  if (action === 'create' || !before) return after.map(([k, v]) => `${k}: ${v}`);
  const old = new Map(before);
  const lines: string[] = [];
  for (const [k, v] of after) {
    const b = old.get(k);
    if (b === undefined) lines.push(`${k}: ${v}`);
    else if (b !== v && v !== UNKNOWN) lines.push(`${k}: ${b} → ${v}`);
  }
  return lines;
}

/** The Exposure section: one line per published hostname, what becomes PUBLIC said loudly. */
export function renderExposure(
  entries: ExposureEntry[] | undefined,
  accessRead: boolean,
  paint: (code: number, text: string) => string,
): string[] {
  if (!entries || entries.length === 0) return [];
  const lines = ['Exposure:'];
  for (const e of entries) {
    const { text, change } = exposureLine(e);
    const color = change === 'becomes PUBLIC' ? 31 : change === 'becomes PROTECTED' ? 32 : 0;
    const line = `  ${text}${change ? `  (${change})` : ''}`;
    lines.push(color ? paint(color, line) : line);
  }
  if (!accessRead)
    lines.push('  (the inventory has no access: section, so Cloudflare Access was not read: apps made in the dashboard are not shown)');
  lines.push('');
  return lines;
}

/** Aud placeholders of apps this plan creates, shown as such in file diffs. */
export function showAudPlaceholders(text: string): string {
  return text.replace(AUD_PLACEHOLDER_PATTERN, '(aud known after apply)');
}
