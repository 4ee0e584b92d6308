/**
 * The first line of every file proxflare renders onto a connector; ownership.ts reads it back
 * to tell our files from anyone else's. A module of its own so reading it loads no template engine.
 */
export const MANAGED_HEADER = '# managed by proxflare; do not edit by hand — changes are reverted by the next sync';
