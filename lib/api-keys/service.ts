import { getDb } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import { forgetApiKeys } from "../auth/api-key-auth.js";
import { displayParts, hashKey, mintKey } from "../auth/api-key-format.js";
import { hasRole } from "../auth/roles.js";
import type { AuthContext } from "../auth/session.js";
import { ApiError, notFound } from "../http/errors.js";
import * as repo from "./repo.js";
import type { ApiKeyCreateInput } from "./schemas.js";

// Keys are managed by people: a leaked key must not be able to mint its own successor.
function person(auth: AuthContext): void {
  if (auth.apiKeyId) throw new ApiError("forbidden", "API keys are managed by signed-in members, not by other API keys.");
}

export async function createApiKey(auth: AuthContext, input: ApiKeyCreateInput) {
  person(auth);
  if (!hasRole(auth.role, input.role)) throw new ApiError("forbidden", `Only an ${input.role} or above can create an ${input.role} key.`, [{ path: "role", message: "above your own role" }]);
  const { db } = await getDb();
  const key = mintKey();
  const info = await repo.insertApiKey(db, {
    id: newId(),
    tenantId: auth.tenant.id,
    name: input.name,
    role: input.role,
    keyHash: hashKey(key),
    ...displayParts(key),
    createdBy: auth.userId,
    expiresAt: input.expiresAt ?? null,
  });
  // The only time the key is ever shown.
  return { ...info, key };
}

export async function listApiKeys(auth: AuthContext) {
  person(auth);
  const { db } = await getDb();
  return { items: await repo.listApiKeys(db, auth.tenant.id) };
}

export async function revokeApiKey(auth: AuthContext, id: string) {
  person(auth);
  const { db } = await getDb();
  const revoked = await repo.revokeApiKey(db, auth.tenant.id, id);
  if (!revoked) throw notFound("API key");
  // At once on this instance; elsewhere within the key cache's TTL (≤ 10 s).
  forgetApiKeys((key) => key.id === id);
}
