// Typed by lib/metrics/exposition.ts, as prom-client's own declarations.
declare const promModule: unknown;
export = promModule;
