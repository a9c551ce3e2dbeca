import { randomBytes } from "node:crypto";
import type { ToolName, ToolsConfig } from "@tapestry/core";
import type { SecretReader } from "@tapestry/core/connectors";
import { SecretNotSetError, TapestryError } from "@tapestry/core/errors";
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

/**
 * The scenario with each sandbox's auth set to the session's credentials, unless the scenario
 * gives its own (e.g. a short token lifetime): then that auth wins, and `sandboxedTools` hands
 * the connector the same credentials.
 */
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
 * reader that answers, under SANDBOX_* names, exactly the credentials each running sandbox
 * accepts (`sandbox.auth`: the scenario's `auth`, or the session's fresh credentials), so one
 * `auth` block configures both sides. dbt Cloud and Grouparoo connectors always send a token; to a
 * sandbox that accepts any (`kind: none`) they send the session's. Real tools' secrets come from
 * `realSecrets`. The session's webhook secrets are stored in the same memory when the webhooks
 * are registered with the sandboxes (`storeSecret`), and never written anywhere.
 */
export function sandboxedTools(
  tools: ToolsConfig,
  sandboxes: Partial<SandboxSet>,
  credentials: SandboxCredentials,
  realTools: ReadonlySet<ToolName>,
  realSecrets: SecretReader,
): {
  tools: ToolsConfig;
  secrets: SecretReader;
  storeSecret: (name: string, value: string) => Promise<void>;
} {
  const sandboxSecrets = new Map<string, string>();
  const secret = (name: string, value: string) => {
    sandboxSecrets.set(name, value);
    return name;
  };
  const next: { -readonly [K in keyof ToolsConfig]: ToolsConfig[K] } = { ...tools };
  if (tools.airbyte && !realTools.has("airbyte") && sandboxes.airbyte) {
    const accepted = sandboxes.airbyte.auth;
    next.airbyte = {
      ...tools.airbyte,
      baseUrl: sandboxes.airbyte.baseUrl,
      // set when the session registers its webhook with the sandbox (registerToolWebhooks)
      webhook: { urlSecret: SANDBOX_WEBHOOK_SECRETS.airbyte },
      auth:
        accepted.kind === "client-credentials"
          ? {
              kind: "client-credentials",
              clientIdSecret: secret("SANDBOX_AIRBYTE_CLIENT_ID", accepted.clientId),
              clientSecretSecret: secret("SANDBOX_AIRBYTE_CLIENT_SECRET", accepted.clientSecret),
            }
          : accepted.kind === "bearer"
            ? { kind: "bearer", tokenSecret: secret("SANDBOX_AIRBYTE_TOKEN", accepted.token) }
            : { kind: "none" },
    };
  }
  const dbt = tools["dbt-cloud"];
  if (dbt && !realTools.has("dbt-cloud") && sandboxes.dbtCloud) {
    const accepted = sandboxes.dbtCloud.auth;
    next["dbt-cloud"] = {
      ...dbt,
      baseUrl: sandboxes.dbtCloud.baseUrl,
      webhook: { hmacKeySecret: SANDBOX_WEBHOOK_SECRETS["dbt-cloud"] },
      tokenSecret: secret(
        "SANDBOX_DBT_CLOUD_TOKEN",
        accepted.kind === "token" ? accepted.token : credentials.dbtToken,
      ),
    };
  }
  if (tools.grouparoo && !realTools.has("grouparoo") && sandboxes.grouparoo) {
    const accepted = sandboxes.grouparoo.auth;
    next.grouparoo = {
      ...tools.grouparoo,
      baseUrl: sandboxes.grouparoo.baseUrl,
      apiKeySecret: secret(
        "SANDBOX_GROUPAROO_API_KEY",
        accepted.kind === "api-key" ? accepted.apiKey : credentials.grouparooKey,
      ),
    };
  }
  const webhookSecrets: readonly string[] = Object.values(SANDBOX_WEBHOOK_SECRETS);
  const secrets: SecretReader = async (name) => {
    const value = sandboxSecrets.get(name);
    if (value !== undefined) return value;
    // the session's webhook secrets exist once the webhooks are registered with the sandboxes
    if (webhookSecrets.includes(name)) throw new SecretNotSetError(name, "local");
    return realSecrets(name);
  };
  // only the session's own webhook secrets are written (by registerToolWebhooks), and only in memory
  const storeSecret = async (name: string, value: string) => {
    if (!webhookSecrets.includes(name)) {
      throw new SessionSecretRefusedError(
        `the embedded control plane stores only its sandboxes' webhook secrets, not ${name}`,
      );
    }
    sandboxSecrets.set(name, value);
  };
  return { tools: next, secrets, storeSecret };
}

/** A secret the embedded control plane may not store: only its own sandboxes' webhook secrets live in its memory. */
export class SessionSecretRefusedError extends TapestryError {
  override readonly name = "SessionSecretRefusedError";
}

/** The names the session's sandboxed tools' webhook secrets go by (set when the webhooks are registered). */
export const SANDBOX_WEBHOOK_SECRETS = {
  airbyte: "SANDBOX_AIRBYTE_WEBHOOK_SECRET",
  "dbt-cloud": "SANDBOX_DBT_CLOUD_WEBHOOK_SECRET",
} as const;
