import type { Reporter } from '../core/reporter.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Progress on stderr: a spinner line on a TTY, plain timestamped lines otherwise
 * (CI logs, pipes). stdout stays reserved for the result.
 */
export function createCliReporter(options: {
  write: (t: string) => void;
  tty: boolean;
  color: boolean;
  verbose: boolean;
}): Reporter & { stop(): void } {
  const { write, tty, verbose } = options;
  const c = (code: number, t: string) => (options.color ? `\u001b[${code}m${t}\u001b[0m` : t);
  let current: { address: string; message: string } | undefined;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;

  const clear = () => {
    if (tty && current) write('\r\u001b[2K');
  };
  const draw = () => {
    if (tty && current) write(`\r\u001b[2K${c(36, FRAMES[frame++ % FRAMES.length]!)} ${current.address}: ${current.message}`);
  };
  const line = (text: string) => {
    clear();
    write(`${text}\n`);
    draw();
  };

  return {
    info: (m) => line(m),
    warn: (m) => line(c(33, `warning: ${m}`)),
    debug: (m) => {
      if (verbose) line(c(2, `debug: ${m}`));
    },
    step(address, message) {
      if (!tty) {
        write(`… ${address}: ${message}\n`);
        return;
      }
      current = { address, message };
      timer ??= setInterval(draw, 100);
      timer.unref();
      draw();
    },
    done(address, message) {
      clear();
      current = undefined;
      write(`${c(32, '✓')} ${address}${message ? `: ${message}` : ''}\n`);
    },
    stop() {
      clear();
      if (timer) clearInterval(timer);
      timer = undefined;
      current = undefined;
    },
  };
}
