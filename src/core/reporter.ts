/**
 * How core code talks to the user. The core never prints; it calls a Reporter.
 * The CLI supplies one that writes to stderr (spinner on a TTY, plain lines otherwise);
 * tests supply a recording one.
 */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** A long step starts (LXC creation, package install, ...). */
  step(address: string, message: string): void;
  /** The step for `address` finished. */
  done(address: string, message?: string): void;
}

export const silentReporter: Reporter = {
  info() {},
  warn() {},
  debug() {},
  step() {},
  done() {},
};

export class RecordingReporter implements Reporter {
  readonly lines: string[] = [];
  info(m: string): void {
    this.lines.push(`info ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  debug(m: string): void {
    this.lines.push(`debug ${m}`);
  }
  step(a: string, m: string): void {
    this.lines.push(`step ${a} ${m}`);
  }
  done(a: string, m?: string): void {
    this.lines.push(`done ${a}${m ? ` ${m}` : ''}`);
  }
}
