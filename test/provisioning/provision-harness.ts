/**
 * The provision state machine as the embedded control plane runs it (state-machines/provision.asl.json
 * on aws-local-stepfunctions, the task handlers Lambda runs), against the Airbyte sandbox over HTTP,
 * prov-warehouse's bootstrapper on a scripted Snowflake account, the SQLite provisioning store, a
 * folder for Grouparoo's files and a local bus whose events the test reads.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { createSsmSecretReader, secretParameterName } from "@tapestry/core/adapters/aws";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { SecretNotSetError } from "@tapestry/core/errors";
import type { ProvisioningEvent } from "@tapestry/core/events";
import { taskResources } from "@tapestry/core/pipeline";
import type { CloudFormationStacks, StackTemplate, StackTool } from "@tapestry/core/provisioning/stacks";
import { createWarehouseBootstrapper, type PrivateKeyStore } from "@tapestry/core/provisioning/warehouse";
import { SqliteProvisioningStore, SqliteToolStackRecords } from "@tapestry/local/ledger";
import {
  type AirbyteSandbox,
  type AirbyteScenario,
  type GrouparooSandbox,
  type GrouparooScenario,
  startAirbyteSandbox,
  startGrouparooSandbox,
} from "@tapestry/local/sandboxes";
import { ScriptedSnowflake } from "@tapestry/local/warehouse";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach } from "vitest";
import { LocalEventBus } from "../../packages/local/src/bus";
import { embeddedProvisioning } from "../../packages/local/src/control-plane/provisioning";
import { REPO_ROOT } from "../../packages/local/src/paths";
import kickstart from "../../tapestry.config";
import { selfHostedKickstart } from "../support/self-hosted-config";
import { adminKey } from "./warehouse/harness";

export interface ProvisionRig {
  readonly config: TapestryConfig;
  readonly airbyte: AirbyteSandbox;
  readonly snowflake: ScriptedSnowflake;
  readonly store: SqliteProvisioningStore;
  readonly stackRecords: SqliteToolStackRecords;
  /** the Grouparoo sandbox, when the rig self-hosts the tools */
  readonly grouparoo?: GrouparooSandbox;
  /** the SQLite file the store writes */
  readonly storePath: string;
  readonly grouparooDir: string;
  /** every provisioning event published, in order */
  readonly events: ProvisioningEvent[];
  /** every secret value the run may read or make: the configured ones and the keys the bootstrap stored */
  secretValues(): readonly string[];
  /** what the provisioning code logged (its core logger), one entry per line */
  readonly logLines: string[];
  /** one provisioning run to its end: its execution's outcome and the states it entered */
  provision(): Promise<RigRun>;
  /** one deprovisioning run to its end */
  deprovision(purge?: boolean): Promise<RigRun>;
  /** with `ssm`: the parameter names every GetParameter asked for, in order */
  readonly ssmReads: string[];
  /** GET /stacks as the embedded API answers it */
  stacks(): ReturnType<ReturnType<typeof embeddedProvisioning>["stacks"]>;
}

export interface RigRun {
  readonly runId: string;
  readonly status: string;
  readonly error?: string;
  readonly states: readonly string[];
  readonly events: ProvisioningEvent[];
}

export interface RigOptions {
  readonly airbyte?: AirbyteScenario;
  readonly grouparoo?: GrouparooScenario;
  /** self-host both tools (config.provisioning), their stacks deployed through this "CloudFormation" */
  readonly selfHosted?: {
    readonly cfn: CloudFormationStacks;
    readonly templates: Partial<Readonly<Record<StackTool, StackTemplate>>>;
  };
  /** the clock the tasks read (a test moves it to pass a deadline) */
  readonly now?: () => Date;
  /**
   * Read the secrets as the deployed tasks do: the SSM secret reader (Powertools' SSMProvider) on an
   * SSMClient mocked by aws-sdk-client-mock, whose parameters `/tapestry/<stage>/<NAME>` hold the
   * rig's values; `missing` names the ones not written (e.g. the Airbyte host's credentials).
   */
  readonly ssm?: { readonly stage: string; readonly missing?: readonly string[] };
}

/** Starts a rig per test (closed after it). */
export function provisionRigStarter(): (options?: RigOptions) => Promise<ProvisionRig> {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async (options = {}) => {
    const dir = mkdtempSync(join(tmpdir(), "tapestry-provision-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const airbyte = await startAirbyteSandbox({
      scenario: options.airbyte,
      auth: {
        kind: "client-credentials",
        clientId: "provisioning-client-id-7f3a9c",
        clientSecret: "provisioning-test-secret",
      },
    });
    cleanups.push(() => airbyte.close());
    const store = SqliteProvisioningStore.open(join(dir, "ledger.sqlite"));
    cleanups.push(() => store.close());
    const stackRecords = SqliteToolStackRecords.open(join(dir, "ledger.sqlite"));
    cleanups.push(() => stackRecords.close());
    const grouparoo = options.selfHosted
      ? await startGrouparooSandbox({ scenario: options.grouparoo })
      : undefined;
    if (grouparoo) cleanups.push(() => grouparoo.close());
    const admin = adminKey();
    const snowflake = new ScriptedSnowflake({ adminKeyFingerprint: admin.fingerprint });
    const base = parseConfig(options.selfHosted ? selfHostedKickstart() : kickstart);
    const config: TapestryConfig = {
      ...base,
      tools: {
        ...base.tools,
        airbyte: {
          ...(base.tools.airbyte ?? (undefined as never)),
          baseUrl: airbyte.baseUrl,
          requestTimeoutSeconds: 5,
          auth: {
            kind: "client-credentials",
            clientIdSecret: "AIRBYTE_CLIENT_ID",
            clientSecretSecret: "AIRBYTE_CLIENT_SECRET",
          },
        },
        ...(grouparoo
          ? { grouparoo: { ...(base.tools.grouparoo ?? (undefined as never)), baseUrl: grouparoo.baseUrl } }
          : {}),
      },
    };
    // the service users' keys, as the bootstrap generates and stores them, read back by Airbyte's destination
    const keyValues = new Map<string, string>();
    const keys: PrivateKeyStore = {
      read: async (name) => keyValues.get(name),
      write: async (name, pem) => {
        keyValues.set(name, pem);
      },
    };
    const secretValues = new Map<string, string>([
      ["SNOWFLAKE_ADMIN_PRIVATE_KEY", admin.pem],
      ["AIRBYTE_CLIENT_ID", "provisioning-client-id-7f3a9c"],
      ["AIRBYTE_CLIENT_SECRET", "provisioning-test-secret"],
      ["ZOOM_CLIENT_SECRET", "zoom-client-secret-0123456789"],
      ["SALESFORCE_CLIENT_SECRET", "salesforce-client-secret-0123"],
      ["SALESFORCE_REFRESH_TOKEN", "5Aep861salesforceRefreshToken"],
    ]);
    const fromMemory = async (name: string) => {
      const value = secretValues.get(name) ?? keyValues.get(name);
      if (value === undefined) throw new SecretNotSetError(name, "test");
      return value;
    };
    const ssmReads: string[] = [];
    let secrets = fromMemory;
    if (options.ssm) {
      const { stage, missing = [] } = options.ssm;
      const client = new SSMClient({
        region: "eu-west-1",
        credentials: { accessKeyId: "x", secretAccessKey: "y" },
      });
      const ssm = mockClient(client);
      cleanups.push(() => ssm.restore());
      ssm.on(GetParameterCommand).callsFake(async (input: { Name?: string; WithDecryption?: boolean }) => {
        const parameter = input.Name ?? "";
        ssmReads.push(parameter);
        const name = parameter.slice(secretParameterName(stage, "X").length - 1);
        const value = missing.includes(name) ? undefined : (secretValues.get(name) ?? keyValues.get(name));
        if (value === undefined || !input.WithDecryption) {
          throw new ParameterNotFound({ message: `Parameter ${parameter} not found.`, $metadata: {} });
        }
        return { Parameter: { Name: parameter, Type: "SecureString", Value: value, Version: 1 } };
      });
      secrets = createSsmSecretReader({
        stage,
        provider: new SSMProvider({ awsSdkV3Client: client }),
        maxAgeSeconds: 0,
      });
    }
    const warehouse = config.warehouse;
    if (!warehouse) throw new Error("the kickstart declares a warehouse");
    const bus = new LocalEventBus();
    const events: ProvisioningEvent[] = [];
    bus.subscribe("test", { source: ["tapestry.provisioning"] }, (event) => {
      events.push(event as unknown as ProvisioningEvent);
    });
    cleanups.push(() => bus.drain());
    const grouparooDir = join(dir, "state");
    const logLines: string[] = [];
    const capture =
      (level: string) =>
      (message: string, attributes?: Record<string, unknown>): void => {
        logLines.push(`${level} ${message} ${JSON.stringify(attributes ?? {})}`);
      };
    const logger = {
      debug: capture("debug"),
      info: capture("info"),
      warn: capture("warn"),
      error: capture("error"),
    };
    const provisioning = embeddedProvisioning({
      config,
      tools: config.tools,
      secrets,
      store,
      stackRecords,
      bus,
      repoRoot: REPO_ROOT,
      stateDir: grouparooDir,
      bootstrapper: () =>
        createWarehouseBootstrapper(warehouse, { connect: snowflake.connect, secrets, keys, logger }),
      now: options.now ?? (() => new Date()),
      logger,
      ...(options.selfHosted ? { toolStacks: options.selfHosted } : {}),
      // every Task's Retry pauses 1 ms
      retryIntervalOverrides: Object.fromEntries(
        [
          ...taskResources(
            JSON.parse(readFileSync(join(REPO_ROOT, "state-machines/provision.asl.json"), "utf8")),
          ).keys(),
          ...taskResources(
            JSON.parse(readFileSync(join(REPO_ROOT, "state-machines/deprovision.asl.json"), "utf8")),
          ).keys(),
        ].map((state) => [state, 1]),
      ),
    });
    cleanups.push(() => provisioning.stop());
    const finish = async ({
      runId,
      execution,
    }: Awaited<ReturnType<typeof provisioning.run>>): Promise<RigRun> => {
      const outcome = await execution.outcome;
      await bus.drain();
      return {
        runId,
        status: outcome.status,
        ...(outcome.status === "FAILED" ? { error: outcome.error } : {}),
        states: execution.statesEntered(),
        events: events.filter((e) => e.detail.data.runId === runId),
      };
    };
    return {
      config,
      airbyte,
      stackRecords,
      ...(grouparoo ? { grouparoo } : {}),
      snowflake,
      store,
      storePath: join(dir, "ledger.sqlite"),
      grouparooDir: join(grouparooDir, "grouparoo"),
      events,
      secretValues: () => [...secretValues.values(), ...keyValues.values()],
      logLines,
      provision: async () => finish(await provisioning.run("embedded")),
      deprovision: async (purge = false) => finish(await provisioning.deprovision("embedded", purge)),
      ssmReads,
      stacks: () => provisioning.stacks(),
    };
  };
}
