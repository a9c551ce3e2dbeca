import { createHash } from "node:crypto";
import type { AirbyteConnectionDeclaration, TapestryConfig } from "../../config";
import type { SecretReader } from "../../connectors/types";
import { formatPath } from "../../zod-messages";
import { ProvisioningInputError } from "../errors";
import { warehouseNames } from "../warehouse/names";
import { type ConnectorKind, type ConnectorSpec, connectorSpec, typeField } from "./connectors";

/**
 * What the config says Airbyte should hold, with the secrets' values read (by name) and Airbyte's
 * defaults filled in, ready to compare with what Airbyte answers and to send.
 */

export interface DesiredActor {
  readonly kind: ConnectorKind;
  readonly name: string;
  readonly type: string;
  /** the full configuration to send: the type field, the settings with their defaults, the secrets' values */
  readonly configuration: Readonly<Record<string, unknown>>;
  /** dotted paths of the configuration that hold secrets (never compared with what Airbyte answers) */
  readonly secretPaths: readonly string[];
  /** `sha256:<hex>` of the secrets' values, salted with the object's kind and name */
  readonly secretsHash: string | undefined;
}

export interface DesiredConnection {
  readonly name: string;
  /** the name of its source (a DesiredActor of kind source) */
  readonly source: string;
  readonly schedule:
    | { readonly scheduleType: "manual" }
    | { readonly scheduleType: "cron"; readonly cronExpression: string };
  readonly namespaceDefinition: "destination" | "source" | "custom_format";
  readonly namespaceFormat?: string;
  readonly prefix: string;
  readonly streams: readonly {
    readonly name: string;
    readonly syncMode: string;
    readonly cursorField?: readonly string[];
    readonly primaryKey?: readonly (readonly string[])[];
  }[];
}

export interface DesiredAirbyteState {
  readonly workspace: string;
  /** every secret value the configurations carry, for the client to redact from what it reports */
  readonly secretValues: readonly string[];
  readonly destination: DesiredActor;
  readonly sources: readonly DesiredActor[];
  readonly connections: readonly DesiredConnection[];
}

/** The declared Airbyte objects of a config (with an airbyte and a warehouse section), secrets read. */
export async function desiredAirbyteState(
  config: TapestryConfig,
  secretReader: SecretReader,
): Promise<DesiredAirbyteState> {
  const airbyte = config.airbyte;
  if (!airbyte || !config.warehouse) {
    throw new ProvisioningInputError(
      "the config declares no airbyte section (or no warehouse for its destination)",
    );
  }
  const names = warehouseNames(config.warehouse);
  const loader = names.users.airbyte;
  // every value read, and each long line of a multi-line one (a PEM echoed in part is still a key)
  const secretValues: string[] = [];
  const secrets: SecretReader = async (name) => {
    const value = await secretReader(name);
    secretValues.push(value, ...value.split(/\r?\n/).filter((line) => line.length >= 16));
    return value;
  };
  const destination = await desiredActor(
    "destination",
    airbyte.destination.name,
    "snowflake",
    {
      host: `${names.account}.snowflakecomputing.com`,
      role: loader.role,
      warehouse: names.warehouse,
      database: names.databases.raw,
      schema: airbyte.destination.defaultSchema,
      username: loader.user,
      credentials: { auth_type: "Key Pair Authentication" },
    },
    { "credentials.private_key": loader.privateKeySecret },
    secrets,
    ["airbyte", "destination"],
  );
  const sources: DesiredActor[] = [];
  for (const [i, source] of airbyte.sources.entries()) {
    sources.push(
      await desiredActor("source", source.name, source.type, source.settings, source.secrets, secrets, [
        "airbyte",
        "sources",
        i,
      ]),
    );
  }
  return {
    workspace: airbyte.workspace,
    secretValues,
    destination,
    sources,
    connections: airbyte.connections.map(desiredConnection),
  };
}

async function desiredActor(
  kind: ConnectorKind,
  name: string,
  type: string,
  settings: Readonly<Record<string, unknown>>,
  secretNames: Readonly<Record<string, string>>,
  secrets: SecretReader,
  at: readonly (string | number)[],
): Promise<DesiredActor> {
  const spec = known(kind, type, at);
  const configuration: Record<string, unknown> = structuredClone({ ...settings });
  const values: Record<string, string> = {};
  for (const [path, secretName] of Object.entries(secretNames)) {
    values[path] = await secrets(secretName);
    setPath(configuration, path, values[path]);
  }
  configuration[typeField(kind)] = type;
  const checked = spec.validator().safeParse(configuration);
  if (!checked.success) {
    // the settings were checked when the config was parsed: what fails now is a secret's value
    const where = checked.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw new ProvisioningInputError(
      `${formatPath([...at])}: Airbyte's ${spec.specName} refuses the configuration at ${where} (a secret's value there does not fit its schema; the value is not repeated)`,
    );
  }
  const secretPaths = [...new Set([...Object.keys(secretNames), ...spec.secretFields])];
  return {
    kind,
    name,
    type,
    configuration: checked.data as Record<string, unknown>,
    secretPaths,
    secretsHash: Object.keys(values).length === 0 ? undefined : secretsHash(kind, name, values),
  };
}

function known(kind: ConnectorKind, type: string, at: readonly (string | number)[]): ConnectorSpec {
  const spec = connectorSpec(kind, type);
  if (!spec)
    throw new ProvisioningInputError(`${formatPath([...at])}: Tapestry knows no ${kind} type "${type}"`);
  return spec;
}

function desiredConnection(connection: AirbyteConnectionDeclaration): DesiredConnection {
  const namespace = connection.namespace;
  return {
    name: connection.name,
    source: connection.source,
    schedule:
      connection.schedule === "manual"
        ? { scheduleType: "manual" }
        : { scheduleType: "cron", cronExpression: connection.schedule.cron },
    ...(typeof namespace === "string"
      ? { namespaceDefinition: namespace }
      : { namespaceDefinition: "custom_format" as const, namespaceFormat: namespace.format }),
    prefix: connection.prefix ?? "",
    streams: connection.streams.map((stream) => ({
      name: stream.name,
      syncMode: stream.syncMode,
      ...(stream.cursorField ? { cursorField: stream.cursorField } : {}),
      ...(stream.primaryKey ? { primaryKey: stream.primaryKey } : {}),
    })),
  };
}

/**
 * A hash of an object's secrets, to know a changed one without ever reading it back: SHA-256 over
 * the kind, the name and the values in key order. The secrets Tapestry sends (API client secrets,
 * refresh tokens, private keys) are long random strings, which a hash does not give away.
 */
export function secretsHash(kind: string, name: string, values: Readonly<Record<string, string>>): string {
  const sorted = Object.fromEntries(Object.entries(values).sort(([a], [b]) => a.localeCompare(b)));
  return `sha256:${createHash("sha256")
    .update(JSON.stringify({ kind, name, secrets: sorted }))
    .digest("hex")}`;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1) ?? path] = value;
}
