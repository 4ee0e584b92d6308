import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A new, unencrypted P-256 key for a certificate valid two days: the simulators make theirs at every start. */
export const THROWAWAY_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];

/**
 * Runs the openssl CLI, which the simulators' certificates need because Node has no API to create
 * X.509 certificates. A failure names `what` was being made and how to get past it.
 */
export async function openssl(args: string[], what: string, hint: string): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new Error(`could not generate ${what} with openssl (${(err as Error).message}); ${hint}`, { cause: err });
  }
}
