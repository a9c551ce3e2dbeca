import type { ToolName } from "../errors";
import type { ToolsConfig } from "./schema";

/** A secret the config refers to: which tool needs it, through which field, by what name. */
export interface SecretReference {
  readonly tool: ToolName;
  /** the config field naming it, e.g. `tools.airbyte.auth.clientSecretSecret` */
  readonly field: string;
  readonly name: string;
}

/** Every secret the configured tools need, in config order (a name shared by two fields appears twice). */
export function secretReferences(tools: ToolsConfig): readonly SecretReference[] {
  const references: SecretReference[] = [];
  const { airbyte, grouparoo } = tools;
  const dbtCloud = tools["dbt-cloud"];
  if (airbyte?.auth.kind === "client-credentials") {
    references.push(
      { tool: "airbyte", field: "tools.airbyte.auth.clientIdSecret", name: airbyte.auth.clientIdSecret },
      {
        tool: "airbyte",
        field: "tools.airbyte.auth.clientSecretSecret",
        name: airbyte.auth.clientSecretSecret,
      },
    );
  }
  if (airbyte?.auth.kind === "bearer") {
    references.push({
      tool: "airbyte",
      field: "tools.airbyte.auth.tokenSecret",
      name: airbyte.auth.tokenSecret,
    });
  }
  if (dbtCloud) {
    references.push({
      tool: "dbt-cloud",
      field: 'tools["dbt-cloud"].tokenSecret',
      name: dbtCloud.tokenSecret,
    });
  }
  if (grouparoo) {
    references.push({
      tool: "grouparoo",
      field: "tools.grouparoo.apiKeySecret",
      name: grouparoo.apiKeySecret,
    });
  }
  return references;
}

/** The distinct names of the secrets the configured tools need. */
export function referencedSecretNames(tools: ToolsConfig): readonly string[] {
  return [...new Set(secretReferences(tools).map((reference) => reference.name))];
}
