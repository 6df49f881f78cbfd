import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";

/**
 * Google's JWKS endpoint is the one thing outside our control, so tests serve their own: an RSA
 * key pair, a JWKS document on a local port, and a minting function. `hits` counts key fetches.
 */
export async function startFakeGoogle() {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-key-1", alg: "RS256", use: "sig" };
  const state = { hits: 0 };
  const server = createServer((_req, res) => {
    state.hits += 1;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}/oauth2/v3/certs`;

  async function mint(claims: JWTPayload & { sub: string }, options: { issuer?: string; audience?: string; expiresIn?: number; notBefore?: number; issuedAt?: number; key?: CryptoKey; kid?: string } = {}) {
    const now = Math.floor(Date.now() / 1000);
    let jwt = new SignJWT({ email_verified: true, ...claims })
      .setProtectedHeader({ alg: "RS256", kid: options.kid ?? "test-key-1", typ: "JWT" })
      .setIssuer(options.issuer ?? "https://accounts.google.com")
      .setAudience(options.audience ?? process.env.GOOGLE_CLIENT_ID!)
      .setIssuedAt(now + (options.issuedAt ?? 0))
      .setExpirationTime(now + (options.expiresIn ?? 3600));
    if (options.notBefore !== undefined) jwt = jwt.setNotBefore(now + options.notBefore);
    return jwt.sign(options.key ?? privateKey);
  }

  return {
    url,
    state,
    mint,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
