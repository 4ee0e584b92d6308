import { StopRequest } from '../apply/stop-request.js';

export interface Interrupts {
  stop: StopRequest;
  dispose(): void;
}

/** The exit code of a run ended by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT = 130;

/**
 * SIGINT/SIGTERM during a sync: the first asks the apply to stop at the next safe point
 * (between changes; the step in progress finishes); the second aborts at once, after
 * `abortNow` has released what it can synchronously (the local lock). The connector lock
 * needs nothing: it is released by the remote side when the SSH connection ends, once a deploy
 * left running there has finished (its deploy lock, see remote-scripts.ts).
 */
export function handleInterrupts(say: (text: string) => void, abortNow: () => void): Interrupts {
  const stop = new StopRequest();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.requested) {
      stop.request(signal);
      say(`\n${signal}: stopping at the next safe point (the current step finishes first). Press Ctrl-C again to abort at once.\n`);
      return;
    }
    say(`\n${signal} again: aborting now. Re-run \`proxflare sync\` to finish; it picks up where this run stopped.\n`);
    abortNow();
    process.exit(INTERRUPTED_EXIT);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stop,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
