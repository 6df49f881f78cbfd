import * as v from "valibot";

// Output schemas. The document's own structure is OpenAPI 3.1's (checked by a validator in tests).
export const OpenApiDocumentOut = v.looseObject({
  openapi: v.literal("3.1.0"),
  info: v.looseObject({ title: v.string(), version: v.string() }),
  paths: v.record(v.string(), v.looseObject({})),
  components: v.looseObject({}),
});
