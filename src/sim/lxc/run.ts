/**
 * Runs host commands for the real-container backend (lxc-*, ip, tar, debootstrap).
 * Failures carry the command's own output, because "lxc-start failed" alone never says why.
 */
import { spawn } from 'node:child_process';
import { ProxflareError } from '../../core/errors.js';

export class SimLxcError extends ProxflareError {
  constructor(
    message: string,
    readonly output?: string,
  ) {
    super(output ? `${message}\n${indent(output)}` : message);
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-40)
    .map((line) => `    ${line}`)
    .join('\n');
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Return the result on a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Runs `command args` without a shell; throws SimLxcError on a non-zero exit unless allowFailure. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new SimLxcError(`cannot run ${command}: ${error.message} (is it installed?)`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        code: code ?? 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      const shown = `${command} ${args.join(' ')}`;
      if (timedOut) {
        reject(new SimLxcError(`${shown} did not finish within ${Math.round(timeoutMs / 1000)}s`, result.stderr || result.stdout));
      } else if (result.code !== 0 && !options.allowFailure) {
        const how = signal ? `was killed by ${signal}` : `exited with ${result.code}`;
        reject(new SimLxcError(`${shown} ${how}`, result.stderr || result.stdout));
      } else {
        resolve(result);
      }
    });
    child.stdin.on('error', () => {
      // The command may exit before reading its input; its exit status tells the story.
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Whether an executable is on PATH (or at the given absolute path). */
export async function hasCommand(name: string): Promise<boolean> {
  const result = await run('sh', ['-c', 'command -v "$1"', 'sh', name], { allowFailure: true, timeoutMs: 5_000 });
  return result.code === 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
