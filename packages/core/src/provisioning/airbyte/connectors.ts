import type * as z from "zod";
import { CONNECTOR_SPECS as specs } from "./connector-specs.generated";
import { readJsonSchema } from "./json-schema-reader";

/**
 * The Airbyte connectors Tapestry provisions, with their official configuration schemas (copied
 * from Airbyte's public API specs by scripts/airbyte-connector-specs.ts). A source's or the
 * destination's settings are checked against the schema when the config is parsed, and the
 * fields the schema marks `airbyte_secret` can only be given as the NAME of a secret.
 */

export type ConnectorKind = "source" | "destination";

type JsonSchema = { readonly [key: string]: unknown };

const SCHEMAS: Readonly<Record<ConnectorKind, Readonly<Record<string, JsonSchema>>>> = {
  source: specs.sources,
  destination: specs.destinations,
};

/** The source types Tapestry knows (Airbyte's `sourceType`), e.g. "zoom". */
export const AIRBYTE_SOURCE_TYPES: readonly string[] = Object.keys(specs.sources);
/** The destination types Tapestry knows (Airbyte's `destinationType`), e.g. "snowflake". */
export const AIRBYTE_DESTINATION_TYPES: readonly string[] = Object.keys(specs.destinations);
/** A stream's sync modes, as the connections API takes them (ConnectionSyncModeEnum). */
export const AIRBYTE_SYNC_MODES = specs.syncModes as readonly string[];

/** The field that tells Airbyte which connector a configuration is for. */
export function typeField(kind: ConnectorKind): "sourceType" | "destinationType" {
  return kind === "source" ? "sourceType" : "destinationType";
}

export interface ConnectorSpec {
  readonly kind: ConnectorKind;
  readonly type: string;
  /** `source-zoom`, `destination-snowflake`: the schema's name in Airbyte's spec */
  readonly specName: string;
  /** the settings a configuration may have at its top level (the type field excluded) */
  readonly settings: readonly string[];
  /** dotted paths of the fields Airbyte keeps secret (`airbyte_secret`), e.g. `credentials.private_key` */
  readonly secretFields: readonly string[];
  /** the official schema as zod (Airbyte's defaults filled in); built on first use */
  validator(): z.ZodType;
}

const built = new Map<string, ConnectorSpec>();

/** The spec of a connector Tapestry knows; undefined for any other type. */
export function connectorSpec(kind: ConnectorKind, type: string): ConnectorSpec | undefined {
  const key = `${kind}:${type}`;
  const known = built.get(key);
  if (known) return known;
  if (!Object.hasOwn(SCHEMAS[kind], type)) return undefined;
  const schema = SCHEMAS[kind][type] as JsonSchema;
  let validator: z.ZodType | undefined;
  const spec: ConnectorSpec = {
    kind,
    type,
    specName: `${kind}-${type}`,
    settings: Object.keys(propertiesOf(schema)).filter((field) => field !== typeField(kind)),
    secretFields: secretPaths(schema, []),
    validator: () => {
      validator ??= readJsonSchema(schema);
      return validator;
    },
  };
  built.set(key, spec);
  return spec;
}

function propertiesOf(schema: JsonSchema): Readonly<Record<string, JsonSchema>> {
  const properties = schema.properties;
  return typeof properties === "object" && properties !== null
    ? (properties as Record<string, JsonSchema>)
    : {};
}

/** Every field marked `airbyte_secret`, in nested objects and in each branch of a `oneOf` too. */
function secretPaths(schema: JsonSchema, at: readonly string[]): string[] {
  const found = new Set<string>();
  for (const [field, property] of Object.entries(propertiesOf(schema))) {
    const here = [...at, field];
    if (property.airbyte_secret === true) found.add(here.join("."));
    for (const path of secretPaths(property, here)) found.add(path);
    const branches = Array.isArray(property.oneOf) ? (property.oneOf as JsonSchema[]) : [];
    for (const branch of branches) for (const path of secretPaths(branch, here)) found.add(path);
  }
  return [...found];
}
