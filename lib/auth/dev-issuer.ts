// Kept apart from dev-tokens.ts so verifying does not load the signing code.
export const DEV_ISSUER = "tally-dev";
export const DEV_AUDIENCE = "tally-dev";
