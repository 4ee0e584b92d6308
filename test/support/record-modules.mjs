// Preloaded with `node --import` by the lazy-loading test: writes every module the process
// loads (ES modules through a load hook, CommonJS ones from require.cache at exit) to the
// file named by PROXFLARE_MODULE_LOG, one URL or path per line.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.PROXFLARE_MODULE_LOG;
if (log) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    export async function load(url, context, next) {
      appendFileSync(${JSON.stringify(log)}, url + '\\n');
      return next(url, context);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => appendFileSync(log, `${Object.keys(cache).join('\n')}\n`));
}
