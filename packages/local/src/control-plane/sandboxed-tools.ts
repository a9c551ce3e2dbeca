import { randomBytes } from "node:crypto";
import type { ToolName, ToolsConfig } from "@tapestry/core";
import type { SecretReader } from "@tapestry/core/connectors";
import type { SandboxSet, Scenario } from "../sandboxes";

/** Fresh credentials for one session of the sandboxes: real-looking secrets, never written anywhere. */
export interface SandboxCredentials {
  readonly airbyteClientId: string;
  readonly airbyteClientSecret: string;
  readonly dbtToken: string;
  readonly grouparooKey: string;
}

export function generateSandboxCredentials(): SandboxCredentials {
  const token = (bytes: number) => randomBytes(bytes).toString("base64url");
  return {
    airbyteClientId: `sandbox-${token(8)}`,
    airbyteClientSecret: token(24),
    dbtToken: `dbtc_${token(24)}`,
    grouparooKey: token(24),
  };
}

/** The scenario with each sandbox's auth set to the session's credentials (a scenario's own auth wins). */
export function withSandboxAuth(scenario: Scenario, credentials: SandboxCredentials): Scenario {
  return {
    ...scenario,
    airbyte: {
      ...scenario.airbyte,
      auth: scenario.airbyte?.auth ?? {
        kind: "client-credentials",
        clientId: credentials.airbyteClientId,
        clientSecret: credentials.airbyteClientSecret,
        tokenTtlSeconds: 180,
      },
    },
    "dbt-cloud": {
      ...scenario["dbt-cloud"],
      auth: scenario["dbt-cloud"]?.auth ?? { kind: "token", token: credentials.dbtToken },
    },
    grouparoo: {
      ...scenario.grouparoo,
      auth: scenario.grouparoo?.auth ?? { kind: "api-key", apiKey: credentials.grouparooKey },
    },
  } as Scenario;
}

/**
 * The tools config pointed at the sandboxes for every tool not in `realTools`, and the secret
 * reader that answers the sandbox credentials under the names the config gives them (real tools'
 * secrets come from `realSecrets`).
 */
export function sandboxedTools(
  tools: ToolsConfig,
  sandboxes: Partial<SandboxSet>,
  credentials: SandboxCredentials,
  realTools: ReadonlySet<ToolName>,
  realSecrets: SecretReader,
): { tools: ToolsConfig; secrets: SecretReader } {
  const sandboxSecrets = new Map<string, string>();
  const next: { -readonly [K in keyof ToolsConfig]: ToolsConfig[K] } = { ...tools };
  if (tools.airbyte && !realTools.has("airbyte") && sandboxes.airbyte) {
    next.airbyte = {
      ...tools.airbyte,
      baseUrl: sandboxes.airbyte.baseUrl,
      auth: {
        kind: "client-credentials",
        clientIdSecret: "SANDBOX_AIRBYTE_CLIENT_ID",
        clientSecretSecret: "SANDBOX_AIRBYTE_CLIENT_SECRET",
      },
    };
    sandboxSecrets.set("SANDBOX_AIRBYTE_CLIENT_ID", credentials.airbyteClientId);
    sandboxSecrets.set("SANDBOX_AIRBYTE_CLIENT_SECRET", credentials.airbyteClientSecret);
  }
  const dbt = tools["dbt-cloud"];
  if (dbt && !realTools.has("dbt-cloud") && sandboxes.dbtCloud) {
    next["dbt-cloud"] = {
      ...dbt,
      baseUrl: sandboxes.dbtCloud.baseUrl,
      tokenSecret: "SANDBOX_DBT_CLOUD_TOKEN",
    };
    sandboxSecrets.set("SANDBOX_DBT_CLOUD_TOKEN", credentials.dbtToken);
  }
  if (tools.grouparoo && !realTools.has("grouparoo") && sandboxes.grouparoo) {
    next.grouparoo = {
      ...tools.grouparoo,
      baseUrl: sandboxes.grouparoo.baseUrl,
      apiKeySecret: "SANDBOX_GROUPAROO_API_KEY",
    };
    sandboxSecrets.set("SANDBOX_GROUPAROO_API_KEY", credentials.grouparooKey);
  }
  const secrets: SecretReader = async (name) => sandboxSecrets.get(name) ?? realSecrets(name);
  return { tools: next, secrets };
}
