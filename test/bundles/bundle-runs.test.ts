/**
 * The deployed bundles work, not only weigh little: each is written as SST builds it, then loaded
 * by a fresh `node` as Lambda's runtime loads it (the AWS SDK imported from outside the bundle,
 * Powertools' parser read with zod as a namespace). The projector's bundle records a bus delivery
 * in the ledger table (a DynamoDB emulator on 127.0.0.1) and refuses a malformed one; the status
 * API's bundle answers from its inlined config.
 */
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { parseConfig } from "@tapestry/core/config";
import { createEvent } from "@tapestry/core/events";
import { scheduledRunId } from "@tapestry/core/pipeline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleFunction, deployedEntries } from "../../stacks/bundling";
import kickstart from "../../tapestry.config";
import { busDelivery, httpRequest } from "../aws/harness";
import { type EmulatedLedgerTable, startLedgerTable } from "../support/dynamodb-emulator";

const ROOT = join(import.meta.dirname, "..", "..");
// inside the app's folder, so that `@aws-sdk/*` resolves from its node_modules as from the runtime's
const OUT = join(ROOT, ".sst", "bundle-runs");
const CONFIG = parseConfig(structuredClone(kickstart), "tapestry.config.ts");
const PIPELINE = CONFIG.pipelines[0];
if (!PIPELINE) throw new Error("the kickstart config has a pipeline");

const ENV = {
  PATH: process.env.PATH ?? "",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
  AWS_SECRET_ACCESS_KEY: "emulator-not-a-secret",
  AWS_EC2_METADATA_DISABLED: "true",
  POWERTOOLS_SERVICE_NAME: "tapestry-bundle-test",
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
  TAPESTRY_STAGE: "test",
};

type Outcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly name: string; readonly message: string };

/** A fresh node imports the bundle and invokes its handler once with `event`. */
async function invoke(entry: string, event: unknown, env: Record<string, string> = {}): Promise<Outcome> {
  const url = pathToFileURL(join(OUT, `${entry}.mjs`)).href;
  const script = `
    const { handler } = await import(${JSON.stringify(url)});
    const context = { functionName: "tapestry-test-${entry}", functionVersion: "$LATEST", awsRequestId: "req-1",
      invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:tapestry-test-${entry}",
      memoryLimitInMB: "512", logGroupName: "g", logStreamName: "s", callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 30000, done() {}, fail() {}, succeed() {} };
    try {
      const result = await handler(JSON.parse(process.argv[1]), context);
      process.stdout.write(JSON.stringify({ ok: true, result: result ?? null }));
    } catch (error) {
      process.stdout.write(JSON.stringify({ ok: false, name: error.name, message: error.message }));
    }`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--input-type=module", "-e", script, JSON.stringify(event)],
    { env: { ...ENV, ...env }, timeout: 60_000 },
  );
  return JSON.parse(stdout) as Outcome;
}

let table: EmulatedLedgerTable;
beforeAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const bundles = await Promise.all(
    deployedEntries(ROOT).map((entry) => bundleFunction(ROOT, entry, { config: CONFIG })),
  );
  for (const bundle of bundles) writeFileSync(join(OUT, `${bundle.entry}.mjs`), bundle.code);
  table = await startLedgerTable("tapestry-test-ledger");
}, 120_000);
afterAll(async () => {
  await table?.close();
  rmSync(OUT, { recursive: true, force: true });
});

describe("the deployed bundles, loaded as Lambda loads them", () => {
  it("each loads in a fresh node with nothing but the runtime's environment, and exports its handler", async () => {
    const loaded = await Promise.all(
      deployedEntries(ROOT).map(async (entry) => {
        const url = pathToFileURL(join(OUT, `${entry}.mjs`)).href;
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `process.stdout.write(typeof (await import(${JSON.stringify(url)})).handler)`,
          ],
          { env: ENV, timeout: 60_000 },
        );
        return [entry, stdout] as const;
      }),
    );
    expect(loaded.filter(([, type]) => type !== "function")).toEqual([]);
  });

  it("project-event records a bus delivery in the ledger table, and refuses a malformed one by the parser", async () => {
    const runId = scheduledRunId(PIPELINE.name, new Date("2026-03-02T11:00:00.000Z"));
    const started = createEvent(
      "PipelineRunStarted",
      {
        runId,
        trigger: { kind: "schedule", scheduledTime: "2026-03-02T11:00:00.000Z" },
        stages: PIPELINE.stages.map((s) => ({
          name: s.name,
          steps: s.steps.map((t) => ({ name: t.name, tool: t.tool })),
        })),
      },
      { pipeline: PIPELINE.name, now: new Date("2026-03-02T11:00:01.000Z") },
    );
    const env = { TAPESTRY_LEDGER_TABLE: table.tableName, AWS_ENDPOINT_URL_DYNAMODB: table.endpoint };

    expect(await invoke("project-event", busDelivery(started), env)).toEqual({ ok: true, result: null });
    const run = (await table.items()).find((item) => item.pk === `RUN#${runId}` && item.sk === "RUN");
    expect(JSON.parse(String(run?.record))).toMatchObject({ runId, status: "running" });

    const { time: _, ...withoutTime } = busDelivery(started);
    expect(await invoke("project-event", withoutTime, env)).toMatchObject({ ok: false, name: "ParseError" });
  });

  it("status-api answers a request from the config inlined in its bundle", async () => {
    const answer = await invoke("status-api", httpRequest("GET", "/pipelines"), {
      TAPESTRY_LEDGER_TABLE: table.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
      TAPESTRY_EVENT_BUS: "tapestry-test",
      TAPESTRY_STATE_MACHINE_ARN:
        "arn:aws:states:us-east-1:123456789012:stateMachine:tapestry-test-pipeline-run",
    });
    expect(answer).toMatchObject({ ok: true, result: { statusCode: 200 } });
    const body = JSON.parse(String((answer as { result: { body: string } }).result.body)) as {
      pipelines: { name: string }[];
    };
    expect(body.pipelines.map((p) => p.name)).toEqual(CONFIG.pipelines.map((p) => p.name));
  });
});
