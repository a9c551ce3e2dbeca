import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import type { WarehouseBindings } from "./bindings";

/**
 * The warehouse bindings of the kickstart pipeline (tapestry.config.ts, Rain Shield's demo): the
 * ids come from the config, so they follow the user's edits; the data work is fixed by step name.
 */

export const KICKSTART_DIR = join("templates", "kickstart");

/** Airbyte steps of the kickstart pipeline -> the raw table each sync replaces and its CSV. */
export const KICKSTART_SYNCS = {
  "zoom-webinar-registrants": { table: "zoom.webinar_registrants", csv: "zoom_webinar_registrants.csv" },
  "salesforce-contacts": { table: "salesforce.contacts", csv: "salesforce_contacts.csv" },
} as const;

/** The dbt step, its model and the table it builds (Snowflake's `analytics` schema). */
export const KICKSTART_MODEL = {
  step: "email-model",
  model: "email_model.sql",
  table: "analytics.email_model",
  sources: {
    "zoom.webinar_registrants": "zoom.webinar_registrants",
    "salesforce.contacts": "salesforce.contacts",
  },
} as const;

/** The Grouparoo step and the file its audience is exported to. */
export const KICKSTART_AUDIENCE = {
  step: "mailchimp-audience",
  exportFile: "mailchimp-audience.json",
} as const;

export interface KickstartBindingsOptions {
  /** the configuration (parsed or not); default the default export of <repoRoot>/tapestry.config.ts */
  config?: unknown;
  /** the ids of the connections steps name (`connection`), as provisioning recorded them */
  connectionIds?: Readonly<Record<string, string>>;
}

/**
 * Bindings for the kickstart steps of the configuration: each Airbyte connection loads its CSV
 * from templates/kickstart/data, the dbt job builds templates/kickstart/dbt/models/email_model.sql,
 * the Grouparoo schedule exports that model. Throws when a kickstart step is missing.
 */
export async function kickstartBindings(
  repoRoot: string,
  options: KickstartBindingsOptions = {},
): Promise<WarehouseBindings> {
  const configPath = join(repoRoot, "tapestry.config.ts");
  const input = options.config ?? (await loadConfigModule(configPath));
  const config = parseConfig(input, options.config === undefined ? configPath : undefined);
  const steps = config.pipelines.flatMap((pipeline) => pipeline.stages.flatMap((stage) => stage.steps));
  const dir = join(repoRoot, KICKSTART_DIR);
  const bindings: WarehouseBindings = { airbyte: {}, "dbt-cloud": {}, grouparoo: {} };
  const found = new Set<string>();

  for (const step of steps) {
    if (step.tool === "airbyte" && Object.hasOwn(KICKSTART_SYNCS, step.name)) {
      const sync = KICKSTART_SYNCS[step.name as keyof typeof KICKSTART_SYNCS];
      const connectionId =
        step.connectionId ?? (step.connection ? options.connectionIds?.[step.connection] : undefined);
      if (connectionId === undefined)
        throw new Error(
          `airbyte step "${step.name}" names connection "${step.connection}", which has no recorded id: provision it first`,
        );
      bindings.airbyte[connectionId] = { table: sync.table, csv: join(dir, "data", sync.csv) };
      found.add(step.name);
    } else if (step.tool === "dbt-cloud" && step.name === KICKSTART_MODEL.step) {
      bindings["dbt-cloud"][String(step.jobId)] = {
        model: join(dir, "dbt", "models", KICKSTART_MODEL.model),
        table: KICKSTART_MODEL.table,
        sources: { ...KICKSTART_MODEL.sources },
      };
      found.add(step.name);
    } else if (step.tool === "grouparoo" && step.name === KICKSTART_AUDIENCE.step) {
      bindings.grouparoo[step.scheduleId] = {
        table: KICKSTART_MODEL.table,
        exportFile: KICKSTART_AUDIENCE.exportFile,
      };
      found.add(step.name);
    }
  }

  const expected = [
    ...Object.keys(KICKSTART_SYNCS).map((name) => `airbyte step "${name}"`),
    `dbt-cloud step "${KICKSTART_MODEL.step}"`,
    `grouparoo step "${KICKSTART_AUDIENCE.step}"`,
  ];
  const missing = expected.filter((label) => !found.has(/"(.*)"/.exec(label)?.[1] ?? ""));
  if (missing.length > 0)
    throw new Error(
      `the configuration has no kickstart ${missing.join(", ")}: kickstart bindings need the steps of the kickstart pipeline`,
    );
  return bindings;
}

async function loadConfigModule(path: string): Promise<TapestryConfig | unknown> {
  const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  if (module.default === undefined) throw new Error(`${path} has no default export (the configuration)`);
  return module.default;
}
