/** One check of `proxflare doctor`: what was looked at, what was found, and how to fix it. */
export interface DoctorCheck {
  /** Stable id for tools (`proxmox.privileges`, `connector:cloudflared-2.ready`, ...). */
  id: string;
  title: string;
  /** `skip`: could not be checked (an earlier check failed, or nothing exists yet to check). */
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  /** What to do, for `warn` and `fail`. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

export function check(id: string, title: string, status: DoctorCheck['status'], detail: string, fix?: string): DoctorCheck {
  return { id, title, status, detail, ...(fix !== undefined && status !== 'ok' ? { fix } : {}) };
}

/** The error's own words and its hint (ProviderError carries both), for a failed check. */
export function fromError(id: string, title: string, err: unknown, fallbackFix: string): DoctorCheck {
  const e = err as { detail?: unknown; hint?: unknown; message?: unknown };
  const detail = typeof e.detail === 'string' && e.detail !== '' ? e.detail : String(e.message ?? err);
  const fix = typeof e.hint === 'string' && e.hint !== '' ? e.hint : fallbackFix;
  return check(id, title, 'fail', detail, fix);
}
