import * as z from "zod";

/**
 * A connector's official JSON Schema as a zod schema. zod's JSON Schema reader is marked
 * semi-experimental: the version is pinned, and test/provisioning checks its verdicts on every
 * connector Tapestry knows (ADR 0016). The deployed functions are bundled with
 * ./json-schema-reader.deployed.ts instead (stacks/bundling.ts, ADR 0020).
 */
export function readJsonSchema(schema: { readonly [key: string]: unknown }): z.ZodType {
  return z.fromJSONSchema(schema as z.core.JSONSchema.JSONSchema);
}
