import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, vi } from "vitest";
import { settleBackgroundWork } from "../../lib/platform/wait-until.js";
import { startReceiver, type Receiver, type Reply } from "./receiver.js";

// What the delivery tests (webhooks, connectors) do with a receiver, apart from receiver.ts because it
// needs the vitest runner and the webhook bench loads receiver.ts without one.

const answerOk = (): Reply => ({ status: 200, body: "ok" });

/**
 * A receiver for the tests of one describe block: started before them, closed after them, and
 * emptied and answering 200 again between tests — only once the background work (the deliveries a
 * test's writes kicked) has settled, so a late request cannot land in the next test.
 */
export function useReceiver(): Receiver {
  let started: Receiver | undefined;
  const live = () => {
    if (!started) throw new Error("the receiver starts in beforeAll; use it inside tests");
    return started;
  };
  beforeAll(async () => {
    started = await startReceiver();
  });
  afterAll(async () => {
    await started?.close();
  });
  afterEach(async () => {
    await settleBackgroundWork();
    live().received.length = 0;
    live().respond = answerOk;
  });
  return {
    get url() {
      return live().url;
    },
    get received() {
      return live().received;
    },
    get respond() {
      return live().respond;
    },
    set respond(respond) {
      live().respond = respond;
    },
    close: () => live().close(),
  };
}

/**
 * Verifies one received request with the reference implementation (standardwebhooks), at the time
 * it was signed: its timestamp tolerance is 5 minutes, and tests move the engine's clock by days.
 */
export function verifySigned(secret: string, r: { headers: Record<string, string>; body: string }): Record<string, any> {
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    vi.setSystemTime(Number(r.headers["webhook-timestamp"]) * 1000);
    return new Webhook(secret).verify(r.body, r.headers) as Record<string, any>;
  } finally {
    vi.useRealTimers();
  }
}
