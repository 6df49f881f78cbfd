// Requests per second with N concurrent keep-alive fetch loops, against the API and against a bare
// node:http hello-world, so the ratio shows what the API layer costs on top of Node's HTTP stack.
// The client loops run in a worker thread: on the main thread they would compete with the server for
// the event loop, and the hello-world figure would mostly measure the client.
import { createServer, type Server } from "node:http";
import { Worker } from "node:worker_threads";

export interface ThroughputOptions {
  concurrency: number;
  durationMs: number;
  warmupMs: number;
}

export interface ThroughputResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
}

// Plain JS (eval'd), so the worker needs no TypeScript loader.
const CLIENT = `
const { parentPort, workerData } = require("node:worker_threads");
const { urls, headers, concurrency, durationMs, warmupMs } = workerData;
let next = 0;
async function loop(until, tally) {
  while (performance.now() < until) {
    const response = await fetch(urls[next++ % urls.length], { headers });
    await response.arrayBuffer();
    if (response.ok) tally.requests++;
    else tally.errors++;
  }
}
async function run(ms) {
  const tally = { requests: 0, errors: 0 };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, () => loop(started + ms, tally)));
  return { ...tally, seconds: (performance.now() - started) / 1000 };
}
run(warmupMs).then(() => run(durationMs)).then((result) => parentPort.postMessage(result));
`;

/** Cycles through `urls` (e.g. different item ids) from `concurrency` loops for `durationMs`. */
export async function measureThroughput(urls: string[], headers: Record<string, string>, options: ThroughputOptions): Promise<ThroughputResult> {
  const worker = new Worker(CLIENT, { eval: true, workerData: { urls, headers, ...options } });
  try {
    const result = await new Promise<Omit<ThroughputResult, "perSecond">>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`throughput client exited with ${code}`)));
    });
    return { ...result, perSecond: result.requests / result.seconds };
  } finally {
    await worker.terminate();
  }
}

export async function startHelloServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.end("hello world");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => closeServer(server) };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
