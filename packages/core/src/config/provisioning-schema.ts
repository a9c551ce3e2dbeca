import * as z from "zod";
import type { ConfigIssue } from "../errors";
import { SECRET_VALUE_HINT, STEP_NAME } from "../names";
import {
  AIRBYTE_SOURCE_TYPES,
  AIRBYTE_SYNC_MODES,
  type ConnectorSpec,
  connectorSpec,
  typeField,
} from "../provisioning/airbyte/connectors";
import { formatPath, issuesAsMessages } from "../zod-messages";
import type { TapestryConfig } from "./schema";
import { secretName } from "./secret-name";

/**
 * What Tapestry configures in the tools, declared by NAME (issue 9): the Airbyte workspace,
 * sources and connections (the destination is built from the warehouse section) and Grouparoo's
 * config files. Ensured by the `provision` state machine: created when absent, updated when
 * different, left alone when equal. A pipeline step may name an Airbyte connection declared here
 * (`connection: "<name>"`) instead of copying its id.
 */

/** Airbyte objects are named like steps: the names become SSM parameter paths and event fields. */
const objectName = z
  .string({ error: `expected a name of ${STEP_NAME.rule}` })
  .regex(STEP_NAME.pattern, { error: `expected a name of ${STEP_NAME.rule}` });

const plainText = (what: string, max = 256) =>
  z
    .string({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}` })
    .max(max, { error: `expected ${what} of at most ${max} characters` });

/** A setting's value as Airbyte's JSON takes it. */
const settingValue = z.json({ error: "expected a plain value (text, number, true/false, list or object)" });

/** `a.b` -> sets value at obj.a.b (creating objects on the way). */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node[key] =
      typeof next === "object" && next !== null && !Array.isArray(next) ? { ...(next as object) } : {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1) ?? path] = value;
}

function hasPath(target: Record<string, unknown>, path: string): boolean {
  let node: unknown = target;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

/** What a secret stands for while the settings are checked: its value is read only when provisioning runs. */
const SECRET_PLACEHOLDER = "(secret)";

/**
 * Checks a connector's settings and secret names against its official schema: unknown settings,
 * a secret field given a value (never repeated), a secret name on a field that is not in the
 * schema, and whatever the schema itself refuses, each at its own path.
 */
export function connectorSettingsIssues(
  spec: ConnectorSpec,
  settings: Readonly<Record<string, unknown>>,
  secrets: Readonly<Record<string, string>>,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const known = `the settings of Airbyte's ${spec.specName} are ${spec.settings.join(", ")}`;
  const candidate: Record<string, unknown> = { ...settings };
  for (const key of Object.keys(settings)) {
    if (!spec.settings.includes(key)) {
      issues.push({ path: ["settings", key], message: `is not a setting of ${spec.specName}: ${known}` });
      delete candidate[key];
    }
  }
  for (const field of spec.secretFields) {
    if (!hasPath(settings, field)) continue;
    issues.push({
      path: ["settings", ...field.split(".")],
      message: `is a secret of ${spec.specName}: ${SECRET_VALUE_HINT}, under secrets["${field}"] (what was given is not repeated)`,
    });
    setPath(candidate, field, SECRET_PLACEHOLDER);
  }
  for (const field of Object.keys(secrets)) {
    if (!spec.settings.includes(field.split(".")[0] ?? "")) {
      issues.push({ path: ["secrets", field], message: `is not a setting of ${spec.specName}: ${known}` });
      continue;
    }
    setPath(candidate, field, SECRET_PLACEHOLDER);
  }
  candidate[typeField(spec.kind)] = spec.type;
  const checked = spec.validator().safeParse(candidate, { reportInput: true, error: typeMessage });
  if (!checked.success) {
    const secretFields = new Set([...Object.keys(secrets), ...spec.secretFields]);
    for (const issue of checked.error.issues) {
      const dotted = issue.path.map(String).join(".");
      if (secretFields.has(dotted)) {
        // only a missing secret gets here: every secret given is a placeholder of the right type
        issues.push({
          path: ["secrets", dotted],
          message: `is required by Airbyte's ${spec.specName} spec: give the NAME of the secret holding it`,
        });
        continue;
      }
      const [message] = issuesAsMessages([issue], { root: "", describeInput: true }).map((m) => m.message);
      issues.push({
        path: ["settings", ...issue.path.map((k) => k as string | number)],
        message: `${message ?? "is invalid"} (Airbyte's ${spec.specName} spec)`,
      });
    }
  }
  return issues;
}

/** zod's default "Invalid input: expected string, received number" in the config's own words. */
function typeMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  const article = /^[aeiou]/.test(issue.expected) ? "an" : "a";
  return `expected ${article} ${issue.expected === "array" ? "list" : issue.expected}`;
}

const airbyteSourceSchema = z
  .strictObject({
    /** the source's name in Airbyte, and what a connection names it by */
    name: objectName,
    /** the connector, as Airbyte's `sourceType`: "zoom", "salesforce" */
    type: z
      .string({ error: `expected a source type: one of ${AIRBYTE_SOURCE_TYPES.join(", ")}` })
      .refine((type) => connectorSpec("source", type) !== undefined, {
        error: `expected a source type Tapestry knows: one of ${AIRBYTE_SOURCE_TYPES.join(", ")} (another connector's schema is added with \`npm run airbyte:specs\`)`,
      }),
    /** the connector's configuration, as its schema in Airbyte's API spec names the fields; no secret values */
    settings: z.record(z.string(), settingValue, { error: "expected an object of settings" }).default({}),
    /** secret fields (dotted paths, e.g. "client_secret") -> the NAME of the secret holding the value */
    secrets: z.record(z.string(), secretName, { error: "expected an object of secret names" }).default({}),
  })
  .superRefine((source, ctx) => {
    const spec = connectorSpec("source", source.type);
    if (!spec) return;
    for (const issue of connectorSettingsIssues(spec, source.settings, source.secrets)) {
      ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    }
  });

const streamSchema = z.strictObject({
  /** the stream's name as the source names it, e.g. "webinar_registrants" or "Contact" */
  name: plainText("the stream's name"),
  syncMode: z
    .enum(AIRBYTE_SYNC_MODES as [string, ...string[]], {
      error: `expected one of Airbyte's sync modes: ${AIRBYTE_SYNC_MODES.join(", ")}`,
    })
    .default("full_refresh_overwrite"),
  /** for incremental modes without a source-defined cursor */
  cursorField: z.array(plainText("a field name"), { error: "expected a list of field names" }).optional(),
  /** for deduplicated modes without a source-defined primary key: a list of field paths */
  primaryKey: z
    .array(z.array(plainText("a field name"), { error: "expected a field path (a list of names)" }), {
      error: 'expected a list of field paths, e.g. [["Id"]]',
    })
    .optional(),
});

const connectionSchema = z.strictObject({
  /** the connection's name in Airbyte, and what a pipeline step names it by (`connection`) */
  name: objectName,
  /** the name of a source of airbyte.sources */
  source: objectName,
  /**
   * Where its tables land in the warehouse: "destination" (the destination's default schema),
   * "source" (the source's own namespaces), or { format: "zoom" } (that schema).
   */
  namespace: z
    .union(
      [
        z.enum(["destination", "source"]),
        z.strictObject({
          format: plainText('a namespace format, e.g. "zoom" (a schema of the raw database)'),
        }),
      ],
      { error: 'expected "destination", "source" or { format: "<schema>" }' },
    )
    .default("destination"),
  /** a prefix for its tables' names */
  prefix: z
    .string({ error: "expected text" })
    .max(64, { error: "expected at most 64 characters" })
    .optional(),
  streams: z
    .array(streamSchema, { error: "expected a list of streams" })
    .min(1, { error: "a connection needs at least one stream" }),
  /** "manual": syncs only when a pipeline runs it (Tapestry drives it); { cron }: Airbyte syncs on its own too */
  schedule: z
    .union([z.literal("manual"), z.strictObject({ cron: plainText("a Quartz cron expression", 128) })], {
      error: 'expected "manual" or { cron: "<Quartz cron expression>" }',
    })
    .default("manual"),
});

export const airbyteProvisioningSchema = z.strictObject({
  /** the workspace the sources, destination and connections live in, by name (created when absent) */
  workspace: plainText("the name of an Airbyte workspace"),
  /** the Snowflake destination, built from the warehouse section (its loader user, key pair and raw database) */
  destination: z
    .strictObject({
      name: objectName.default("tapestry-warehouse"),
      /** the schema of the raw database that tables land in when a connection says namespace "destination" */
      defaultSchema: plainText("a schema name", 255).default("PUBLIC"),
    })
    .prefault({}),
  sources: z.array(airbyteSourceSchema, { error: "expected a list of sources" }).default([]),
  connections: z.array(connectionSchema, { error: "expected a list of connections" }).default([]),
});

/** Grouparoo ids become file names and ids in its config files: keep them plain. */
const grouparooId = z
  .string({ error: "expected an id of lower-case letters, digits and underscores, starting with a letter" })
  .regex(/^[a-z][a-z0-9_]{0,63}$/, {
    error: "expected an id of lower-case letters, digits and underscores, starting with a letter, at most 64",
  });

const GROUPAROO_PROPERTY_TYPES = [
  "boolean",
  "date",
  "email",
  "float",
  "integer",
  "phoneNumber",
  "string",
  "url",
] as const;

const grouparooPropertySchema = z.strictObject({
  id: grouparooId,
  /** the table's column it reads */
  column: plainText("a column name"),
  type: z
    .enum(GROUPAROO_PROPERTY_TYPES, { error: `expected one of ${GROUPAROO_PROPERTY_TYPES.join(", ")}` })
    .default("string"),
  /** exactly one property identifies a record: unique, and the source's primary key */
  unique: z.boolean({ error: "expected true or false" }).default(false),
});

export const grouparooProvisioningSchema = z.strictObject({
  /** the model the audience's records belong to */
  model: z.strictObject({ id: grouparooId, name: plainText("the model's name") }),
  /** the dbt model's table in the analytics database, read as the reporter user */
  source: z.strictObject({
    id: grouparooId,
    name: plainText("the source's name"),
    table: plainText("a table name"),
    schema: plainText("a schema name", 255).default("PUBLIC"),
    properties: z
      .array(grouparooPropertySchema, { error: "expected a list of properties" })
      .min(1, { error: "a source needs at least one property, one of them unique" }),
  }),
  /** the schedule a pipeline's grouparoo step runs (its scheduleId) */
  schedule: z.strictObject({
    id: grouparooId,
    name: plainText("the schedule's name"),
    /** the column the import is sorted by (ORDER BY ... ASC), e.g. an updated-at column */
    sortColumn: plainText("a column name"),
    /** false: it runs only when a pipeline runs it (Tapestry drives it) */
    recurring: z.boolean({ error: "expected true or false" }).default(false),
  }),
  /** the Mailchimp audience the records are synced to */
  destination: z.strictObject({
    id: grouparooId,
    name: plainText("the destination's name"),
    type: z.literal("mailchimp", { error: 'expected "mailchimp" (Grouparoo\'s mailchimp-export-contacts)' }),
    /** the Mailchimp audience (list) id */
    listId: plainText("the Mailchimp audience (list) id", 64),
    apiKeySecret: secretName,
    syncMode: z
      .enum(["sync", "additive", "enrich"], { error: 'expected "sync", "additive" or "enrich"' })
      .default("sync"),
    /** Mailchimp merge field -> property id; email_address is required */
    mapping: z.record(plainText("a Mailchimp field"), grouparooId, {
      error: "expected an object of Mailchimp fields to property ids",
    }),
  }),
});

/** The two provisioning sections, spread into configSchema by one line. */
export const provisioningSections = {
  airbyte: airbyteProvisioningSchema.optional(),
  grouparoo: grouparooProvisioningSchema.optional(),
};

export type AirbyteProvisioning = z.output<typeof airbyteProvisioningSchema>;
export type AirbyteSourceDeclaration = AirbyteProvisioning["sources"][number];
export type AirbyteConnectionDeclaration = AirbyteProvisioning["connections"][number];
export type GrouparooProvisioning = z.output<typeof grouparooProvisioningSchema>;

/**
 * Rules across the provisioning sections and the pipelines: unique names, a connection's source
 * declared, a step's `connection` declared (and one of connection / connectionId), a connection
 * a pipeline drives synced manually, Grouparoo's mapping and primary key.
 */
export function provisioningIssues(config: TapestryConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const push = (path: (string | number)[], message: string) =>
    issues.push({ path: formatPath(path), message });
  const airbyte = config.airbyte;
  const connections = new Map<string, number>();
  if (airbyte) {
    const sources = new Map<string, number>();
    airbyte.sources.forEach((source, i) => {
      const first = sources.get(source.name);
      if (first === undefined) sources.set(source.name, i);
      else
        push(
          ["airbyte", "sources", i, "name"],
          `duplicate source name "${source.name}" (also airbyte.sources[${first}]): source names must be unique`,
        );
    });
    airbyte.connections.forEach((connection, i) => {
      const first = connections.get(connection.name);
      if (first === undefined) connections.set(connection.name, i);
      else
        push(
          ["airbyte", "connections", i, "name"],
          `duplicate connection name "${connection.name}" (also airbyte.connections[${first}]): connection names must be unique`,
        );
      if (!sources.has(connection.source)) {
        push(
          ["airbyte", "connections", i, "source"],
          `names no source of airbyte.sources: declare a source named "${connection.source}"${sources.size > 0 ? ` or use one of ${[...sources.keys()].join(", ")}` : ""}`,
        );
      }
    });
    if (!config.warehouse) {
      push(
        ["airbyte", "destination"],
        "is built from the warehouse section (its raw database, loader user and key pair): declare warehouse",
      );
    }
    if (!config.tools.airbyte) {
      push(
        ["airbyte"],
        "provisions Airbyte objects but tools.airbyte is not declared: add its endpoint and secret names",
      );
    }
  }
  config.pipelines.forEach((pipeline, p) => {
    pipeline.stages.forEach((stage, s) => {
      stage.steps.forEach((step, t) => {
        if (step.tool !== "airbyte" || step.connection === undefined) return;
        const here = ["pipelines", p, "stages", s, "steps", t, "connection"];
        const at = connections.get(step.connection);
        if (at === undefined) {
          push(
            here,
            airbyte
              ? `names no connection of airbyte.connections (declared: ${[...connections.keys()].join(", ") || "none"}): declare it there, or give the connection's connectionId`
              : `names a connection, but no airbyte section declares connections: declare airbyte.connections, or give the connection's connectionId`,
          );
          return;
        }
        const schedule = airbyte?.connections[at]?.schedule;
        if (schedule !== undefined && schedule !== "manual") {
          push(
            ["airbyte", "connections", at, "schedule"],
            `connection "${step.connection}" is run by pipeline ${pipeline.name} (step ${step.name}); a cron schedule would make Airbyte sync it on its own too: use "manual"`,
          );
        }
      });
    });
  });
  const grouparoo = config.grouparoo;
  if (grouparoo && !config.warehouse) {
    push(
      ["grouparoo", "source"],
      "reads the analytics database as the warehouse's reporter user: declare the warehouse section",
    );
  }
  if (grouparoo) {
    const properties = new Set(grouparoo.source.properties.map((p) => p.id));
    const unique = grouparoo.source.properties.filter((p) => p.unique);
    if (unique.length !== 1) {
      push(
        ["grouparoo", "source", "properties"],
        `exactly one property must be unique (it identifies a record), got ${unique.length}: set unique: true on one, e.g. the e-mail`,
      );
    }
    const seen = new Set<string>();
    grouparoo.source.properties.forEach((property, i) => {
      if (seen.has(property.id))
        push(
          ["grouparoo", "source", "properties", i, "id"],
          `duplicate property id "${property.id}": property ids must be unique`,
        );
      seen.add(property.id);
    });
    for (const [field, property] of Object.entries(grouparoo.destination.mapping)) {
      if (!properties.has(property)) {
        push(
          ["grouparoo", "destination", "mapping", field],
          `names no property of grouparoo.source.properties (declared: ${[...properties].join(", ")})`,
        );
      }
    }
    if (!Object.hasOwn(grouparoo.destination.mapping, "email_address")) {
      push(
        ["grouparoo", "destination", "mapping"],
        'Mailchimp needs "email_address": map it to the property holding the e-mail',
      );
    }
  }
  return issues;
}
