#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // A CLI must end when its work is done: if a library left a handle open (an idle
    // keep-alive socket, a timer), leave anyway once stdout/stderr had time to drain.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
