import type { GrouparooProvisioning, TapestryConfig } from "../../config";
import { ProvisioningInputError } from "../errors";
import { warehouseNames } from "../warehouse/names";

/**
 * Grouparoo 0.9.0's config files, generated from the config: what `grouparoo apply` loads from its
 * `config/` folder (JSON files of `{ class, id, ... }` objects; checked against Grouparoo's own
 * config loaders, core/src/modules/configLoaders, and its demo config). One object per file, so a
 * change shows as one changed file.
 *
 * No file holds a secret. An app option that is secret holds the NAME of the secret, and Grouparoo
 * reads the value from the environment variable `GROUPAROO_OPTION__APP__<NAME>` (its
 * OptionHelper.sourceEnvironmentVariableOptions); environment.json, beside the config folder, says
 * which variable comes from which secret, for whoever runs Grouparoo (an ECS task's `secrets`).
 */

export interface GrouparooConfigFile {
  /** relative to the bundle's root, e.g. `config/apps/tapestry_warehouse.json` */
  readonly path: string;
  readonly content: string;
}

export interface GrouparooEnvironmentVariable {
  /** GROUPAROO_OPTION__APP__<secret NAME> */
  readonly variable: string;
  /** the NAME of the secret whose value it holds */
  readonly secret: string;
}

export interface GrouparooConfigBundle {
  readonly files: readonly GrouparooConfigFile[];
  readonly environment: readonly GrouparooEnvironmentVariable[];
}

/** The app through which the source reads the warehouse, as the reporter user (its DEFAULT_ROLE set by the bootstrap). */
export const WAREHOUSE_APP_ID = "tapestry_warehouse";
/** Where environment.json goes: beside config/, never in it (Grouparoo loads every .json under config/). */
export const ENVIRONMENT_FILE = "environment.json";

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const environmentVariable = (secret: string) => `GROUPAROO_OPTION__APP__${secret}`;

/** The files of a config's grouparoo section (which needs a warehouse section). */
export function grouparooConfigBundle(config: TapestryConfig): GrouparooConfigBundle {
  const grouparoo = config.grouparoo;
  if (!grouparoo || !config.warehouse) {
    throw new ProvisioningInputError(
      "the config declares no grouparoo section (or no warehouse for its source)",
    );
  }
  const names = warehouseNames(config.warehouse);
  const reporter = names.users.grouparoo;
  const { model, source, schedule, destination } = grouparoo;
  const mailchimpAppId = `${destination.id}_app`;
  const key = source.properties.find((p) => p.unique) ?? never("a unique property");
  const file = (folder: string, id: string, object: Record<string, unknown>): GrouparooConfigFile => ({
    path: `config/${folder}/${id}.json`,
    content: json(object),
  });
  const files: GrouparooConfigFile[] = [
    file("models", model.id, { class: "Model", id: model.id, name: model.name, type: "profile" }),
    file("apps", WAREHOUSE_APP_ID, {
      class: "App",
      id: WAREHOUSE_APP_ID,
      name: "Tapestry warehouse (Snowflake)",
      // key-pair sign-in; the plugin has no role option: the user's DEFAULT_ROLE applies
      type: "snowflake-keypair",
      options: {
        account: names.account,
        username: reporter.user,
        private_key: reporter.privateKeySecret,
        warehouse: names.warehouse,
        database: names.databases.analytics,
        schema: source.schema,
      },
    }),
    file("apps", mailchimpAppId, {
      class: "App",
      id: mailchimpAppId,
      name: `${destination.name} (Mailchimp)`,
      type: "mailchimp",
      options: { apiKey: destination.apiKeySecret },
    }),
    file("sources", source.id, {
      class: "Source",
      id: source.id,
      name: source.name,
      type: "snowflake-import-table",
      appId: WAREHOUSE_APP_ID,
      modelId: model.id,
      options: { table: source.table },
      // the source's primary key: the column that identifies a record, and its property
      mapping: { [key.column]: key.id },
    }),
    ...source.properties.map((property) =>
      file("properties", property.id, {
        class: "Property",
        id: property.id,
        key: property.id,
        type: property.type,
        sourceId: source.id,
        unique: property.unique,
        isArray: false,
        options: { column: property.column, aggregationMethod: "exact" },
        filters: [],
      }),
    ),
    file("schedules", schedule.id, scheduleObject(grouparoo)),
    file("destinations", destination.id, {
      class: "Destination",
      id: destination.id,
      name: destination.name,
      type: "mailchimp-export-contacts",
      appId: mailchimpAppId,
      modelId: model.id,
      collection: "model",
      syncMode: destination.syncMode,
      options: { listId: destination.listId },
      mapping: { ...destination.mapping },
    }),
  ];
  const environment = [reporter.privateKeySecret, destination.apiKeySecret].map((secret) => ({
    variable: environmentVariable(secret),
    secret,
  }));
  files.push({
    path: ENVIRONMENT_FILE,
    content: json({
      $comment:
        "Generated by Tapestry: the environment variables Grouparoo needs, each from the secret named here (never a value)",
      variables: Object.fromEntries(environment.map((e) => [e.variable, { secret: e.secret }])),
    }),
  });
  return { files, environment };
}

function scheduleObject(grouparoo: GrouparooProvisioning): Record<string, unknown> {
  const { schedule, source } = grouparoo;
  return {
    class: "Schedule",
    id: schedule.id,
    name: schedule.name,
    sourceId: source.id,
    // not recurring: a pipeline's grouparoo step runs it (POST /api/v1/schedule/:id/run)
    recurring: schedule.recurring,
    ...(schedule.recurring ? { recurringFrequency: 15 * 60 * 1000 } : {}),
    incremental: true,
    confirmRecords: false,
    options: { column: schedule.sortColumn },
    filters: [],
  };
}

function never(what: string): never {
  throw new ProvisioningInputError(`the grouparoo section has no ${what}`);
}
