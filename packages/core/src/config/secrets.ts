import { TOOL_NAMES, type ToolName } from "../names";
import { formatPath } from "../zod-messages";
import type { ToolsConfig } from "./schema";

/** A secret the config refers to: which tool needs it, through which field, by what name. */
export interface SecretReference {
  readonly tool: ToolName;
  /** the config field naming it, e.g. `tools.airbyte.auth.clientSecretSecret` */
  readonly field: string;
  readonly name: string;
}

type SecretFields<T extends ToolName> = (
  config: NonNullable<ToolsConfig[T]>,
) => readonly { readonly path: readonly string[]; readonly name: string }[];

/** Where each tool's config names its secrets (a field per secret); every tool must say, even if none. */
const SECRET_FIELDS: { readonly [T in ToolName]: SecretFields<T> } = {
  airbyte: ({ auth, webhook }) => {
    const urlSecret = { path: ["webhook", "urlSecret"], name: webhook.urlSecret };
    if (auth.kind === "client-credentials") {
      return [
        { path: ["auth", "clientIdSecret"], name: auth.clientIdSecret },
        { path: ["auth", "clientSecretSecret"], name: auth.clientSecretSecret },
        urlSecret,
      ];
    }
    return auth.kind === "bearer"
      ? [{ path: ["auth", "tokenSecret"], name: auth.tokenSecret }, urlSecret]
      : [urlSecret];
  },
  "dbt-cloud": ({ tokenSecret, webhook }) => [
    { path: ["tokenSecret"], name: tokenSecret },
    { path: ["webhook", "hmacKeySecret"], name: webhook.hmacKeySecret },
  ],
  grouparoo: ({ apiKeySecret }) => [{ path: ["apiKeySecret"], name: apiKeySecret }],
};

function referencesOf<T extends ToolName>(tool: T, tools: ToolsConfig): SecretReference[] {
  const config = tools[tool];
  if (!config) return [];
  return SECRET_FIELDS[tool](config).map(({ path, name }) => ({
    tool,
    field: formatPath(["tools", tool, ...path]),
    name,
  }));
}

/** Every secret the configured tools need, in tool order (a name shared by two fields appears twice). */
export function secretReferences(tools: ToolsConfig): readonly SecretReference[] {
  return TOOL_NAMES.flatMap((tool) => referencesOf(tool, tools));
}

/** The distinct names of the secrets the configured tools need. */
export function referencedSecretNames(tools: ToolsConfig): readonly string[] {
  return [...new Set(secretReferences(tools).map((reference) => reference.name))];
}
