// prom-client's registry, counter and gauge, required one by one: its index also loads the
// Pushgateway (http/https), cluster aggregation, default metrics and OpenTelemetry, ~460 ms of
// require() on a loaded machine against ~15-35 ms for these three. A CommonJS file of our own, as
// db/drizzle-sql.cjs, so Vercel's file tracer follows these require()s the way Node resolves them.
module.exports = {
  Registry: require("prom-client/lib/registry"),
  Counter: require("prom-client/lib/counter"),
  Gauge: require("prom-client/lib/gauge"),
};
