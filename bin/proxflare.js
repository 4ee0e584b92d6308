#!/usr/bin/env node
// dist/bundle/ is tsc's output linked into a few files by `npm run build` (src/build/bundle.ts).
import { main } from '../dist/bundle/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // A CLI must end when its work is done: if a library left a handle open (an idle
    // keep-alive socket, a timer), leave anyway once stdout/stderr had time to drain.
    setTimeout(() => {
      // Under DEBUG=proxflare, name what stayed open: it is a leak to fix (a test watches for it).
      if (/\bproxflare\b/.test(process.env.DEBUG ?? '')) {
        console.error(`proxflare: work done, but still open: ${process.getActiveResourcesInfo().join(', ')}; exiting anyway`);
      }
      process.exit(code);
    }, 2000).unref();
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
