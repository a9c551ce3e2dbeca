import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { provisioningRunSchema } from "../../packages/cli/src/provision-commands";
import { checkAnswer } from "../api/status-api-answers";
import { type Plane, startPlane } from "../state-machines/harness";
import { startApiGatewayStandIn } from "./api-gateway-stand-in";
import { CLASS_NAME_OR_STACK, tapestry } from "./harness";
import {
  DEPROVISION_RUN_ID,
  deprovisionRun,
  type Snapshot,
  stack,
  startProvisioningStandIn,
} from "./provisioning-stand-in";

/**
 * `tapestry provision` against the embedded control plane (the real provision state machine and
 * sandboxes), and `tapestry teardown` against a stand-in answering the deprovisioning contract
 * (DELETE /provisioning, GET /provisioning, GET /stacks), behind the SigV4-checking API Gateway
 * stand-in with --stage.
 */

const FAST = { pollIntervalMs: 20 };
const TEST_TIMEOUT_MS = 60_000;

describe("tapestry provision --local, against the embedded control plane", {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  let plane: Plane;
  beforeAll(async () => {
    plane = await startPlane();
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await plane?.stop();
  });

  it("starts a provisioning run, prints each step once as it ends, then the outcome; exit 0", async () => {
    const result = await tapestry(["provision", "--local", plane.apiUrl], { provision: FAST });
    expect(result.code, result.stderr).toBe(0);
    const runId = /^provisioning run (provision-\S+) started; waiting for it to end$/.exec(
      result.out[0] ?? "",
    )?.[1];
    expect(runId).toBeDefined();
    const steps = result.out.filter((line) => /^ {2}[✓✗-] /.test(line));
    // every step of the run, each once (in the order they ended: the warehouse and the tool stacks go in parallel)
    expect(steps.map((line) => line.split(" ")[3]).sort()).toEqual([
      "bootstrap-warehouse",
      "deploy-tool-stacks",
      "ensure-airbyte",
      "record-outputs",
      "validate",
      "write-grouparoo-config",
    ]);
    expect(steps[0]).toMatch(/^ {2}✓ validate succeeded/);
    expect(result.out.at(-1)).toMatch(new RegExp(`^provisioning run ${runId} succeeded in \\d+\\.\\d s$`));
    // GET /stacks is 404 on this control plane: followed without it, and nothing said about it
    expect(result.stdout).not.toContain("stack ");
  });

  it("--json prints the final GET /provisioning answer (progress on stderr)", async () => {
    const result = await tapestry(["provision", "--json", "--local", plane.apiUrl], { provision: FAST });
    expect(result.code, result.stderr).toBe(0);
    expect(
      checkAnswer({
        method: "GET",
        path: "/provisioning",
        status: 200,
        headers: { "content-type": "application/json" },
        body: result.stdout,
      }),
    ).toEqual([]);
    const run = provisioningRunSchema.parse(JSON.parse(result.stdout));
    expect(run.status).toBe("succeeded");
    expect(result.stderr).toContain(`provisioning run ${run.runId} started`);
  });
});

/** DeprovisioningSucceeded's remains, as GET /provisioning answers them on the run */
const REMAINS = [
  {
    kind: "bucket",
    name: "tapestry-dev-airbyte-storage",
    why: "retained so that a teardown never loses sync state",
    remove: "aws s3 rb s3://tapestry-dev-airbyte-storage --force",
  },
  { kind: "snapshot", name: "tapestry-dev-grouparoo-final", why: "Grouparoo's database, restorable" },
  {
    kind: "snowflake",
    name: "TAPESTRY_RAW",
    why: "Tapestry never drops your data",
    remove: "DROP DATABASE IF EXISTS TAPESTRY_RAW;",
  },
];

const SUCCEEDING: Snapshot[] = [
  {
    run: deprovisionRun("running", [
      ["delete-grouparoo-stack", "pending"],
      ["delete-airbyte-stack", "pending"],
    ]),
    stacks: [stack("airbyte", "CREATE_COMPLETE"), stack("grouparoo", "DELETE_IN_PROGRESS")],
  },
  {
    run: deprovisionRun("running", [
      ["delete-grouparoo-stack", "succeeded", "tapestry-dev-grouparoo deleted"],
      ["delete-airbyte-stack", "pending"],
    ]),
    stacks: [stack("airbyte", "DELETE_IN_PROGRESS"), stack("grouparoo", null)],
  },
  {
    run: deprovisionRun(
      "succeeded",
      [
        ["delete-grouparoo-stack", "succeeded", "tapestry-dev-grouparoo deleted"],
        ["delete-airbyte-stack", "succeeded", "tapestry-dev-airbyte deleted"],
      ],
      { remains: REMAINS },
    ),
    stacks: [stack("airbyte", null), stack("grouparoo", null)],
  },
];

describe("tapestry teardown --stage, against a deprovisioning stand-in (SigV4)", {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  const CREDENTIALS = { accessKeyId: "AKIDTAPESTRYTEARDOWN", secretAccessKey: "teardown-secret-1a2b3c4d5e" };
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const close of cleanups.splice(0)) await close();
  });

  async function stage(script: Parameters<typeof startProvisioningStandIn>[0]) {
    vi.stubEnv("AWS_ACCESS_KEY_ID", CREDENTIALS.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secretAccessKey);
    vi.stubEnv("AWS_SESSION_TOKEN", "");
    vi.stubEnv("AWS_PROFILE", "");
    const api = await startProvisioningStandIn(script);
    const gateway = await startApiGatewayStandIn({
      target: api.url,
      region: "eu-west-1",
      credentials: CREDENTIALS,
    });
    cleanups.push(api.close, gateway.close);
    return { api, gateway, args: ["--stage", "dev", "--api-url", gateway.url, "--region", "eu-west-1"] };
  }

  it("--yes --purge: a signed DELETE /provisioning?purge=true, each step and stack status once, what remains; exit 0", async () => {
    const { api, gateway, args } = await stage({ snapshots: SUCCEEDING });
    const result = await tapestry(["teardown", "--yes", "--purge", ...args], { provision: FAST });
    expect(result.code, result.stderr).toBe(0);
    expect(gateway.refusals).toEqual([]);
    const deletes = api.requests.filter((r) => r.method === "DELETE");
    expect(deletes.map((r) => r.url)).toEqual(["/provisioning?purge=true"]);
    expect(result.out).toEqual([
      `deprovisioning run ${DEPROVISION_RUN_ID} started; waiting for it to end`,
      "  stack tapestry-dev-airbyte (airbyte): CREATE_COMPLETE",
      "  stack tapestry-dev-grouparoo (grouparoo): DELETE_IN_PROGRESS",
      "  ✓ delete-grouparoo-stack succeeded: tapestry-dev-grouparoo deleted",
      "  stack tapestry-dev-airbyte (airbyte): DELETE_IN_PROGRESS",
      "  stack tapestry-dev-grouparoo (grouparoo): not deployed",
      "  ✓ delete-airbyte-stack succeeded: tapestry-dev-airbyte deleted",
      "  stack tapestry-dev-airbyte (airbyte): not deployed",
      `deprovisioning run ${DEPROVISION_RUN_ID} succeeded in 570.0 s`,
      "what remains (on purpose):",
      "  - bucket tapestry-dev-airbyte-storage: retained so that a teardown never loses sync state\n      remove: aws s3 rb s3://tapestry-dev-airbyte-storage --force",
      "  - snapshot tapestry-dev-grouparoo-final: Grouparoo's database, restorable",
      "  - snowflake TAPESTRY_RAW: Tapestry never drops your data\n      remove: DROP DATABASE IF EXISTS TAPESTRY_RAW;",
    ]);
    for (const output of [result.stdout, result.stderr])
      expect(output).not.toContain(CREDENTIALS.secretAccessKey);
  });

  it("on a terminal, a spinner line shows the steps done while it waits, and is wiped at the end", async () => {
    const { args } = await stage({ snapshots: SUCCEEDING });
    const result = await tapestry(["teardown", "--yes", ...args], { provision: FAST }, { tty: true });
    expect(result.code, result.stderr).toBe(0);
    expect(result.progress.filter((line) => line !== undefined)).toEqual([
      "⠋ deprovisioning: 0/2 steps done, now delete-grouparoo-stack",
      "⠙ deprovisioning: 1/2 steps done, now delete-airbyte-stack",
    ]);
    expect(result.progress.at(-1)).toBeUndefined();
  });

  it("without --purge the DELETE asks for no purge; --json prints the final run, remains included", async () => {
    const { api, args } = await stage({ snapshots: SUCCEEDING, noStacksRoute: true });
    const result = await tapestry(["teardown", "--yes", "--json", ...args], { provision: FAST });
    expect(result.code, result.stderr).toBe(0);
    expect(api.requests.find((r) => r.method === "DELETE")?.url).toBe("/provisioning");
    const run = provisioningRunSchema.parse(JSON.parse(result.stdout));
    expect(run).toMatchObject({ runId: DEPROVISION_RUN_ID, status: "succeeded", remains: REMAINS });
    expect(result.stderr).toContain(`deprovisioning run ${DEPROVISION_RUN_ID} started`);
  });

  it("a run that fails: the failed step and its reason, exit 1", async () => {
    const { args } = await stage({
      snapshots: [
        {
          run: deprovisionRun(
            "failed",
            [
              ["delete-grouparoo-stack", "failed", "DELETE_FAILED"],
              ["delete-airbyte-stack", "pending"],
            ],
            {
              failure: {
                step: "delete-grouparoo-stack",
                errorName: "StackDeleteFailedError",
                error: "GrouparooDatabase: the final snapshot could not be taken",
              },
              remains: [],
            },
          ),
          stacks: [
            stack("grouparoo", "DELETE_FAILED", {
              runId: DEPROVISION_RUN_ID,
              at: "2026-12-07T01:05:00.000Z",
              outcome: "failed",
              reason: "GrouparooDatabase: the final snapshot could not be taken",
            }),
          ],
        },
      ],
    });
    const result = await tapestry(["teardown", "--yes", ...args], { provision: FAST });
    expect(result.code).toBe(1);
    expect(result.out).toContain("  ✗ delete-grouparoo-stack failed: DELETE_FAILED");
    expect(result.out).toContain(
      "  stack tapestry-dev-grouparoo (grouparoo): DELETE_FAILED: GrouparooDatabase: the final snapshot could not be taken",
    );
    expect(result.out).toContain(
      `deprovisioning run ${DEPROVISION_RUN_ID} failed at step delete-grouparoo-stack: GrouparooDatabase: the final snapshot could not be taken`,
    );
    expect(result.stdout + result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });

  it("refused while a provisioning run holds the lock (409): the API's reason, exit 1", async () => {
    const { args } = await stage({
      snapshots: SUCCEEDING,
      refuseDelete: { status: 409, detail: "provisioning run provision-01JD3Q6ZC7V8Y1XK2N4P5R6S7A is going" },
    });
    const result = await tapestry(["teardown", "--yes", ...args], { provision: FAST });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("provisioning run provision-01JD3Q6ZC7V8Y1XK2N4P5R6S7A is going");
  });

  it("asks for the stage's name: a wrong answer tears nothing down (exit 2), the right one goes on", async () => {
    const { api, args } = await stage({ snapshots: SUCCEEDING });
    const questions: string[] = [];
    const wrong = await tapestry(["teardown", ...args], {
      provision: {
        ...FAST,
        interactive: true,
        ask: async (q) => {
          questions.push(q);
          return "prod";
        },
      },
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('"prod" is not "dev": nothing was torn down');
    expect(api.requests).toEqual([]);
    expect(questions).toEqual(["Type the stage name (dev) to continue: "]);

    const right = await tapestry(["teardown", ...args], {
      provision: { ...FAST, interactive: true, ask: async () => "dev\n" },
    });
    expect(right.code, right.stderr).toBe(0);
    expect(api.requests.filter((r) => r.method === "DELETE")).toHaveLength(1);
  });

  it("without a terminal and without --yes: refused (exit 2), naming --yes, and nothing is sent", async () => {
    const { api, gateway, args } = await stage({ snapshots: SUCCEEDING });
    const result = await tapestry(["teardown", ...args], { provision: { ...FAST, interactive: false } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("pass --yes");
    expect(api.requests).toEqual([]);
    expect(gateway.authorized).toEqual([]);
  });
});
