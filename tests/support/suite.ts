import { afterAll, beforeAll } from "vitest";
import type { Db } from "../../db/client.js";
import { createTenant, type TestTenant } from "./fixtures.js";
import { useTarget, type OpenTarget, type TargetName } from "./targets.js";

/** Opens a database target for the enclosing describe and gives each suite fresh tenants. */
export function withTarget(name: TargetName) {
  const state = {} as { target: OpenTarget; db: Db };
  beforeAll(async () => {
    state.target = await useTarget(name);
    state.db = state.target.handle.db;
  });
  afterAll(async () => {
    await state.target?.close();
  });
  return {
    get db() {
      return state.db;
    },
    get target() {
      return state.target;
    },
    get kind() {
      return state.target.handle.kind;
    },
    tenant: (label?: string): Promise<TestTenant> => createTenant(state.db, label),
  };
}
