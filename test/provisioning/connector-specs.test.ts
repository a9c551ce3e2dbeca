/**
 * The connector schemas the config checks settings against: copied verbatim from Airbyte's
 * official specs (a drift test), and read by zod's JSON Schema reader with the same verdicts as a
 * JSON Schema validator (Ajv, as the contract tests use it) on every connector Tapestry knows.
 */
import { readFileSync } from "node:fs";
import { connectorSpec } from "@tapestry/core/provisioning/airbyte";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { CONNECTOR_SPECS } from "../../packages/core/src/provisioning/airbyte/connector-specs.generated";
import { CONNECTOR_SPECS_PATH, renderConnectorSpecs } from "../../scripts/airbyte-connector-specs";

describe("the generated connector schemas", () => {
  it("are exactly what npm run airbyte:specs writes from the vendored specs", () => {
    expect(readFileSync(CONNECTOR_SPECS_PATH, "utf8"), "run npm run airbyte:specs and commit the file").toBe(
      renderConnectorSpecs(),
    );
  });

  it("name each connector's secret fields, nested ones included", () => {
    expect(connectorSpec("source", "zoom")?.secretFields).toEqual(["client_secret"]);
    expect(connectorSpec("source", "salesforce")?.secretFields).toEqual(["client_secret", "refresh_token"]);
    expect(connectorSpec("destination", "snowflake")?.secretFields).toEqual([
      "credentials.private_key",
      "credentials.password",
    ]);
    expect(connectorSpec("source", "postgres")).toBeUndefined();
  });
});

const ZOOM = {
  sourceType: "zoom",
  account_id: "acct",
  client_id: "client",
  client_secret: "secret",
  authorization_endpoint: "https://zoom.us/oauth/token",
};
const SALESFORCE = { sourceType: "salesforce", client_id: "id", client_secret: "s", refresh_token: "r" };
const SNOWFLAKE = {
  destinationType: "snowflake",
  host: "rainshield-analytics.snowflakecomputing.com",
  role: "TAPESTRY_LOADER",
  warehouse: "TAPESTRY_WAREHOUSE",
  database: "TAPESTRY_RAW",
  schema: "PUBLIC",
  username: "TAPESTRY_AIRBYTE",
  credentials: { auth_type: "Key Pair Authentication", private_key: "pem" },
};

const SAMPLES: readonly [string, "source" | "destination", string, Record<string, unknown>][] = [
  ["zoom: complete", "source", "zoom", ZOOM],
  ["zoom: no account_id", "source", "zoom", { ...ZOOM, account_id: undefined }],
  ["zoom: a number for client_id", "source", "zoom", { ...ZOOM, client_id: 42 }],
  ["salesforce: minimal", "source", "salesforce", SALESFORCE],
  [
    "salesforce: start date as a date-time",
    "source",
    "salesforce",
    { ...SALESFORCE, start_date: "2021-01-01T00:00:00Z" },
  ],
  [
    "salesforce: start date as a bare date",
    "source",
    "salesforce",
    { ...SALESFORCE, start_date: "2021-01-01" },
  ],
  [
    "salesforce: a bad criteria",
    "source",
    "salesforce",
    { ...SALESFORCE, streams_criteria: [{ criteria: "like", value: "C" }] },
  ],
  ["salesforce: is_sandbox as text", "source", "salesforce", { ...SALESFORCE, is_sandbox: "no" }],
  ["snowflake: key pair", "destination", "snowflake", SNOWFLAKE],
  [
    "snowflake: a host outside snowflakecomputing.com",
    "destination",
    "snowflake",
    { ...SNOWFLAKE, host: "example.com" },
  ],
  [
    "snowflake: key pair without its key",
    "destination",
    "snowflake",
    { ...SNOWFLAKE, credentials: { auth_type: "Key Pair Authentication" } },
  ],
  ["snowflake: no role", "destination", "snowflake", { ...SNOWFLAKE, role: undefined }],
];

describe("zod's reading of the official schemas agrees with a JSON Schema validator", () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv, { mode: "full" });

  it.each(SAMPLES)("%s", (_, kind, type, sample) => {
    const spec = connectorSpec(kind, type);
    if (!spec) throw new Error(`${kind} ${type} is not known`);
    const value = JSON.parse(JSON.stringify(sample));
    const schema = CONNECTOR_SPECS[kind === "source" ? "sources" : "destinations"][type];
    if (!schema) throw new Error(`${kind} ${type} has no generated schema`);
    const byAjv = ajv.validate(schema, value);
    expect(spec.validator().safeParse(value).success, JSON.stringify(ajv.errors)).toBe(byAjv);
  });
});
