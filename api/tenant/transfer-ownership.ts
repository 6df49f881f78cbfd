import { route, preflight } from "../../lib/http/route.js";
import { OwnershipTransfer, OwnershipTransferOut } from "../../lib/members/schemas.js";
import { transferOwnership } from "../../lib/members/service.js";

export const POST = route("/api/tenant/transfer-ownership", { auth: "owner", output: OwnershipTransferOut, errors: ["conflict", "not_found"], body: OwnershipTransfer }, ({ auth, body }) => transferOwnership(auth, body.userId));

export const OPTIONS = preflight;
