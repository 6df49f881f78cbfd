// The simulated card processor (issue 14): deterministic by test card, like a payment provider's
// test mode. Decided before the checkout's write, so the write records the outcome in the same
// statement as the reservation (and, on failure, its release).

export type PaymentOutcome = { ok: true; last4: string } | { ok: false; last4: string; code: "card_declined" | "insufficient_funds" | "processing_error"; retryable: boolean; message: string };

const FAILURES: Record<string, Omit<Extract<PaymentOutcome, { ok: false }>, "ok" | "last4">> = {
  "4000000000000002": { code: "card_declined", retryable: false, message: "The card was declined." },
  "4000000000009995": { code: "insufficient_funds", retryable: false, message: "The card has insufficient funds." },
  "4000000000000119": { code: "processing_error", retryable: true, message: "The card could not be processed; try again." },
};

/** `digits`: the card number without spaces or dashes. Every card not listed as failing succeeds (4242 4242 4242 4242 is the usual one). */
export function charge(digits: string): PaymentOutcome {
  const last4 = digits.slice(-4);
  const failure = FAILURES[digits];
  return failure ? { ok: false, last4, ...failure } : { ok: true, last4 };
}
