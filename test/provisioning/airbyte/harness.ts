/**
 * Airbyte provisioning against the Airbyte sandbox over real HTTP: the kickstart's desired objects
 * (secrets from a fixed fake store), the public API client with client-credentials auth, and the
 * SQLite provisioning store in memory. Every exchange is kept for the contract check.
 */
import { randomBytes } from "node:crypto";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { airbyteHttpClient } from "@tapestry/core/connectors";
import {
  AirbyteConfigClient,
  type DesiredAirbyteState,
  desiredAirbyteState,
  type EnsuredObject,
  ensureAirbyteObjects,
} from "@tapestry/core/provisioning";
import { SqliteProvisioningStore } from "@tapestry/local/ledger";
import { type AirbyteSandbox, type AirbyteScenario, startAirbyteSandbox } from "@tapestry/local/sandboxes";
import { afterEach } from "vitest";
import kickstart from "../../../tapestry.config";

/** A PEM-looking private key and other secret values: what the fake secret store answers. */
export const SECRET_VALUES: Readonly<Record<string, string>> = {
  ZOOM_CLIENT_SECRET: randomBytes(24).toString("base64url"),
  SALESFORCE_CLIENT_SECRET: randomBytes(24).toString("base64url"),
  SALESFORCE_REFRESH_TOKEN: `5Aep861${randomBytes(30).toString("base64url")}`,
  TAPESTRY_AIRBYTE_PRIVATE_KEY: `-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString("base64")}\n-----END PRIVATE KEY-----`,
};

export interface AirbyteRig {
  readonly sandbox: AirbyteSandbox;
  readonly store: SqliteProvisioningStore;
  readonly config: TapestryConfig;
  /** secrets by name; a test may change one */
  readonly secrets: Record<string, string>;
  /** one provisioning of the config's Airbyte objects (as the state machine's task runs it) */
  ensure(config?: TapestryConfig): Promise<readonly EnsuredObject[]>;
  desired(config?: TapestryConfig): Promise<DesiredAirbyteState>;
  /** the POSTs and PATCHes the sandbox received since the last call (token requests left out) */
  writes(): string[];
}

/** Starts a rig, closed after the test. */
export function airbyteRigStarter(): (options?: { scenario?: AirbyteScenario }) => Promise<AirbyteRig> {
  let started: { sandbox: AirbyteSandbox; store: SqliteProvisioningStore } | undefined;
  afterEach(async () => {
    started?.store.close();
    await started?.sandbox.close();
    started = undefined;
  });
  return async (options = {}) => {
    const credentials = { clientId: "tapestry-provisioning", clientSecret: randomBytes(16).toString("hex") };
    const sandbox = await startAirbyteSandbox({
      scenario: options.scenario,
      auth: { kind: "client-credentials", ...credentials },
    });
    const store = SqliteProvisioningStore.open(":memory:");
    started = { sandbox, store };
    const secrets: Record<string, string> = {
      ...SECRET_VALUES,
      AIRBYTE_CLIENT_ID: credentials.clientId,
      AIRBYTE_CLIENT_SECRET: credentials.clientSecret,
    };
    const reader = async (name: string) => {
      const value = secrets[name];
      if (value === undefined) throw new Error(`no secret ${name}`);
      return value;
    };
    const base = parseConfig(kickstart);
    const config: TapestryConfig = {
      ...base,
      tools: { ...base.tools, airbyte: { ...(base.tools.airbyte ?? never()), baseUrl: sandbox.baseUrl } },
    };
    let seen = 0;
    const fast = { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 1000 } };
    return {
      sandbox,
      store,
      config,
      secrets,
      desired: (given = config) => desiredAirbyteState(given, reader),
      ensure: async (given = config) => {
        const http = await airbyteHttpClient(given.tools.airbyte ?? never(), { secrets: reader, ...fast });
        return ensureAirbyteObjects(await desiredAirbyteState(given, reader), {
          client: new AirbyteConfigClient(http, () => undefined),
          objects: store,
          now: () => new Date(),
        });
      },
      writes: () => {
        const fresh = sandbox.traffic.slice(seen);
        seen = sandbox.traffic.length;
        return fresh
          .filter((ex) => ex.request.method === "POST" || ex.request.method === "PATCH")
          .filter((ex) => ex.operation !== "createAccessToken")
          .map((ex) => ex.operation);
      },
    };
  };
}

function never(): never {
  throw new Error("the kickstart declares tools.airbyte");
}
