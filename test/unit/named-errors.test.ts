import { join } from "node:path";
import { PassThrough } from "node:stream";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import {
  DynamoDbRunLedger,
  InvalidSecretValueError,
  SecretStoreError,
  SsmSecretStore,
} from "@tapestry/core/adapters/aws";
import { parseConfig, type StepSpec } from "@tapestry/core/config";
import { ConnectorRegistry, ToolNotConfiguredError } from "@tapestry/core/connectors";
import { SecretReadError } from "@tapestry/core/errors";
import { LedgerDamagedError } from "@tapestry/core/ledger";
import { PIPELINE_RUN_FUNCTIONS } from "@tapestry/core/pipeline";
import { REPO_ROOT } from "@tapestry/local";
import { LocalStepFunctions, TaskHandlerMissingError } from "@tapestry/local/runner";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { promptingSecretReader } from "../../packages/cli/src/prompt-secrets";
import kickstart from "../../tapestry.config";

/**
 * Each error that used to be a bare TapestryError now names its concept: the name is what a
 * state machine's Retry/Catch matches, what a step's recorded error starts with, and what a
 * caller can tell apart. The messages are the ones users saw before (the CLI tests check them).
 */

const restore: (() => void)[] = [];
afterEach(() => {
  for (const undo of restore.splice(0)) undo();
});

function ssmStore() {
  const client = new SSMClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
  });
  const ssm = mockClient(client);
  restore.push(() => ssm.restore());
  return { ssm, store: new SsmSecretStore({ client, stage: "prod" }) };
}

const denied = () =>
  Object.assign(new Error("not authorized"), {
    name: "AccessDeniedException",
    $metadata: { httpStatusCode: 400 },
  });

describe("the SSM secret store (tapestry secrets)", () => {
  it.each([
    ["an empty value", ""],
    ["a value over SSM's 4 KB", "x".repeat(4097)],
  ])("refuses %s with InvalidSecretValueError, asking nothing of SSM", async (_, value) => {
    const { ssm, store } = ssmStore();
    await expect(store.set("DBT_CLOUD_TOKEN", value)).rejects.toBeInstanceOf(InvalidSecretValueError);
    expect(ssm.calls()).toHaveLength(0);
  });

  it("names SSM's refusal to store, list or remove SecretStoreError", async () => {
    const { ssm, store } = ssmStore();
    ssm.on(PutParameterCommand).rejects(denied());
    ssm.on(GetParametersByPathCommand).rejects(denied());
    ssm.on(DeleteParameterCommand).rejects(denied());
    await expect(store.set("DBT_CLOUD_TOKEN", "v")).rejects.toBeInstanceOf(SecretStoreError);
    await expect(store.list()).rejects.toBeInstanceOf(SecretStoreError);
    await expect(store.remove("DBT_CLOUD_TOKEN")).rejects.toBeInstanceOf(SecretStoreError);
  });
});

describe("the secrets of real tools asked on the terminal (tapestry local --real)", () => {
  it("without a terminal, is SecretReadError: a step fails on it without retrying or cancelling", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    const output = { write: () => true } as unknown as NodeJS.WriteStream;
    const error = await promptingSecretReader(input, output)("DBT_CLOUD_TOKEN").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretReadError);
    expect((error as SecretReadError).secret).toBe("DBT_CLOUD_TOKEN");
  });
});

describe("the connector registry", () => {
  it("answers a step of a tool it was not given with ToolNotConfiguredError", async () => {
    const step = parseConfig(structuredClone(kickstart)).pipelines[0]?.stages[0]?.steps[0] as StepSpec;
    const registry = new ConnectorRegistry({}, { secrets: async () => "unused" });
    const error = await registry
      .start(step, { pipeline: "rain-shield-audience", runId: "r", deadline: Date.now() + 60_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolNotConfiguredError);
    expect((error as ToolNotConfiguredError).tool).toBe(step.tool);
    expect((error as Error).message).toBe(
      `tools.${step.tool} is not configured: add its endpoint and secret names`,
    );
  });
});

describe("the DynamoDB ledger", () => {
  it("names an item it did not write LedgerDamagedError", async () => {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } }),
    );
    const dynamo = mockClient(client);
    restore.push(() => dynamo.restore());
    dynamo
      .on(GetCommand)
      .resolves({ Item: { pk: "LOCK#p", sk: "LOCK", runId: 42, expiresAt: "2099-01-01T00:00:00.000Z" } });
    const ledger = new DynamoDbRunLedger({ client, tableName: "tapestry-test-ledger" });
    const error = await ledger.getRunLock("p", "2026-01-01T00:00:00.000Z").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerDamagedError);
    expect((error as Error).message).toBe(
      "the DynamoDB ledger is damaged: runId of item LOCK#p / LOCK is not a string",
    );
  });
});

describe("the embedded runner", () => {
  it("refuses a definition whose Task has no handler with TaskHandlerMissingError, naming the state", () => {
    const [missing, ...given] = PIPELINE_RUN_FUNCTIONS;
    const handlers = Object.fromEntries(given.map((fn) => [fn, async () => ({})]));
    const build = () =>
      new LocalStepFunctions({
        definitionPath: join(REPO_ROOT, "state-machines", "pipeline-run.asl.json"),
        handlers: handlers as never,
        runTimeoutSeconds: 3600,
      });
    expect(build).toThrow(TaskHandlerMissingError);
    expect(build).toThrow(new RegExp(`has no local handler for .*${missing?.replace(/FunctionArn$/, "")}`));
  });
});
