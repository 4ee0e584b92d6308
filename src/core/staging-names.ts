/**
 * The names of the staging files our deploy writes next to each managed file before the atomic
 * rename (remote-scripts.ts `deployScript`): `.<name>.proxflare-tmp.<pid>` in the same directory.
 * A deploy killed between writing and renaming (SIGKILL, power loss, a dropped SSH session that
 * took the shell with it) leaves them behind; the staged credentials carry the tunnel secret.
 * Shared by the state script (which lists them), the plan and the removal script.
 */

const STAGING_NAME = /^\.(.+)\.proxflare-tmp\.(\d+)$/;

/** The directory and basename of an absolute path. */
function split(path: string): { dir: string; base: string } {
  const at = path.lastIndexOf('/');
  return { dir: at <= 0 ? '/' : path.slice(0, at), base: path.slice(at + 1) };
}

/** The shell glob (relative to the file's directory) that matches the staging files of `path`. */
export function stagingGlob(path: string): { dir: string; prefix: string } {
  const { dir, base } = split(path);
  return { dir, prefix: `.${base}.proxflare-tmp.` };
}

/** Whether `path` is a staging file of one of `managed` (same directory, our name pattern). */
export function isStagingOf(path: string, managed: readonly string[]): boolean {
  const { dir, base } = split(path);
  const m = STAGING_NAME.exec(base);
  if (!m) return false;
  return managed.some((p) => split(p).dir === dir && split(p).base === m[1]);
}
