import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatEvent } from "@tapestry/local";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import {
  cancelAcceptedSchema,
  runDetailSchema,
  runEventsSchema,
  runsPageSchema,
  statusOverviewSchema,
  triggerAcceptedSchema,
} from "../../packages/cli/src/status-api/answers";
import {
  CloudFormationClient,
  DescribeStacksCommand,
} from "../../packages/cli/src/status-api/cloudformation";
import { checkAnswer } from "../api/status-api-answers";
import { type Plane, startPlane } from "../state-machines/harness";
import { startApiGatewayStandIn } from "./api-gateway-stand-in";
import { CLASS_NAME_OR_STACK, spawnTapestry, tapestry } from "./harness";

/**
 * `tapestry status | runs | logs | run | cancel` against the embedded control plane (in this
 * process, 127.0.0.1, a random port) and, with --stage, through a stand-in for API Gateway that
 * checks the SigV4 signature. --json output must parse, match the CLI's schema, and be the answer
 * docs/status-api.openapi.yaml documents.
 */

const PIPELINE = "rain-shield-audience";
const FAST = { pollIntervalMs: 50 };
const TEST_TIMEOUT_MS = 60_000;
/** A carriage return or an ANSI escape: what redraws a line or colours it. */
const hasTerminalCodes = (text: string) => text.includes("\r") || text.includes("\u001b[");

/** The --json output: parsed, checked with the CLI's schema and against the OpenAPI answer of `method path`. */
function jsonAnswer<S extends z.ZodType>(
  stdout: string,
  schema: S,
  method: string,
  path: string,
  status = 200,
  headers: Record<string, string> = {},
) {
  const problems = checkAnswer({
    method,
    path,
    status,
    headers: { "content-type": "application/json", ...headers },
    body: stdout,
  });
  expect(problems).toEqual([]);
  return schema.parse(JSON.parse(stdout)) as z.infer<S>;
}

const local = (plane: Plane) => ["--local", plane.apiUrl];

describe("against the embedded control plane: a run that succeeds", { timeout: TEST_TIMEOUT_MS }, () => {
  let plane: Plane;
  let runId = "";
  let waited: Awaited<ReturnType<typeof tapestry>>;
  beforeAll(async () => {
    plane = await startPlane();
    waited = await tapestry(["run", PIPELINE, "--wait", ...local(plane)], { api: FAST });
    runId = /^run (\S+) of/.exec(waited.out[0] ?? "")?.[1] ?? "";
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await plane?.stop();
  });

  it("run --wait prints the run's events as plain lines as they happen, then its outcome, and exits 0", () => {
    expect(waited.code, waited.stderr).toBe(0);
    expect(runId).toMatch(/^rain-shield-audience-m[0-9A-Z]{26}$/);
    expect(waited.out[0]).toBe(`run ${runId} of ${PIPELINE} accepted; waiting for it to end`);
    const text = waited.stdout;
    expect(text).toContain(`▶ run ${runId} started (manual)`);
    expect(text).toMatch(/✓ ingest\/zoom-webinar-registrants airbyte 40 rows, \d+\.\d s/);
    expect(text).toMatch(/✓ ingest\/salesforce-contacts airbyte 45 rows/);
    expect(text).toMatch(/✓ transform\/email-model dbt-cloud 58 rows/);
    expect(text).toMatch(/✓ sync\/mailchimp-audience grouparoo 58 rows/);
    expect(waited.out.at(-1)).toMatch(new RegExp(`^run ${runId} succeeded: 201 rows in \\d+\\.\\d s$`));
    // each event once, and nothing but plain lines: not a terminal
    expect(waited.out.filter((line) => line.includes("✓ transform/email-model"))).toHaveLength(1);
    expect(hasTerminalCodes(text)).toBe(false);
  });

  it("status: a table, and with --json the API's /status answer", async () => {
    const human = await tapestry(["status", ...local(plane)]);
    expect(human.code).toBe(0);
    expect(human.out[0]).toMatch(/^PIPELINE\s+HEALTH\s+LAST RUN\s+STATUS\s+ROWS\s+ENDED\s+NEXT RUN$/);
    expect(human.out[1]).toMatch(
      new RegExp(`^${PIPELINE}\\s+healthy\\s+${runId}\\s+succeeded\\s+201\\s+\\S+Z\\s+\\S+`),
    );

    const json = await tapestry(["status", "--json", ...local(plane)]);
    expect(json.code).toBe(0);
    const overview = jsonAnswer(json.stdout, statusOverviewSchema, "GET", "/status");
    expect(overview.pipelines.map((p) => [p.name, p.health, p.lastRun?.runId])).toEqual([
      [PIPELINE, "healthy", runId],
    ]);
  });

  it("runs: the pipeline's runs, newest first; --json is the API's page", async () => {
    const human = await tapestry(["runs", PIPELINE, ...local(plane)]);
    expect(human.code).toBe(0);
    expect(human.out[0]).toMatch(/^RUN\s+STATUS\s+TRIGGER\s+STARTED\s+DURATION\s+ROWS\s+ERROR$/);
    expect(human.out[1]).toMatch(
      new RegExp(`^${runId}\\s+succeeded\\s+manual\\s+\\S+\\s+\\d+\\.\\d s\\s+201$`),
    );

    const json = await tapestry(["runs", PIPELINE, "--limit", "5", "--json", ...local(plane)]);
    const page = jsonAnswer(json.stdout, runsPageSchema, "GET", `/pipelines/${PIPELINE}/runs?limit=5`);
    expect(page.runs.map((r) => r.runId)).toEqual([runId]);
    expect(page.nextCursor).toBeNull();
  });

  it("logs: the run's events in order, exactly the lines tapestry local prints; --json is the API's list", async () => {
    const events = await plane.ledger.listEvents(runId);
    const human = await tapestry(["logs", runId, ...local(plane)]);
    expect(human.code).toBe(0);
    expect(human.out).toEqual(events.map((event) => formatEvent(event, { color: false })));

    const json = await tapestry(["logs", runId, "--json", ...local(plane)]);
    const listed = jsonAnswer(json.stdout, runEventsSchema, "GET", `/runs/${runId}/events`);
    expect(listed.events.map((e) => e.detail.metadata.id)).toEqual(events.map((e) => e.detail.metadata.id));
  });

  it("logs --follow of an ended run prints its events and ends; with --json one event per line", async () => {
    const followed = await tapestry(["logs", runId, "--follow", ...local(plane)], { api: FAST });
    expect(followed.code).toBe(0);
    expect(followed.out.at(-1)).toMatch(/✔ run .* succeeded: 201 rows/);
    const lines = await tapestry(["logs", runId, "--follow", "--json", ...local(plane)], { api: FAST });
    const parsed = lines.out.map((line) => runEventsSchema.shape.events.element.parse(JSON.parse(line)));
    expect(parsed.map((e) => e["detail-type"]).at(-1)).toBe("PipelineRunSucceeded");
  });

  it("run --wait on a terminal: a progress line while it waits, wiped at the end", async () => {
    const result = await tapestry(["run", PIPELINE, "--wait", ...local(plane)], { api: FAST }, { tty: true });
    expect(result.code, result.stderr).toBe(0);
    const shown = result.progress.filter((text): text is string => text !== undefined);
    expect(shown.length).toBeGreaterThan(0);
    for (const text of shown)
      expect(text).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (queued|running): \d+ steps? done(, running \S+)?/);
    expect(result.progress.at(-1)).toBeUndefined();
    // the event lines are the same as in a pipe
    expect(result.out.at(-1)).toMatch(/^run \S+ succeeded: 201 rows/);
  });

  it("run --wait --json: progress on stderr, the ended run (the API's /runs/{runId}) on stdout", async () => {
    const result = await tapestry(["run", PIPELINE, "--wait", "--json", ...local(plane)], { api: FAST });
    expect(result.code, result.stderr).toBe(0);
    const runId = runDetailSchema.parse(JSON.parse(result.stdout)).runId;
    const run = jsonAnswer(result.stdout, runDetailSchema, "GET", `/runs/${runId}`);
    expect(run.status).toBe("succeeded");
    expect(run.steps).toHaveLength(4);
    expect(result.stderr).toContain(`▶ run ${run.runId} started (manual)`);
  });

  it("run --wait waits for a run the API accepted but has not recorded yet (its execution starting)", async () => {
    // the first reads of the new run answer 404, as they do until its PipelineRunStarted is in the ledger
    let notYet = 3;
    const slowLedger: typeof fetch = async (input, init) => {
      const url = String(input);
      if (/\/runs\/[^/]+$/.test(new URL(url).pathname) && notYet-- > 0) {
        const runId = decodeURIComponent(new URL(url).pathname.split("/").at(-1) ?? "");
        return new Response(
          JSON.stringify({
            type: "run-not-found",
            title: "Unknown run",
            status: 404,
            detail: `there is no run "${runId}"`,
          }),
          { status: 404, headers: { "content-type": "application/problem+json" } },
        );
      }
      return fetch(input, init);
    };
    const result = await tapestry(["run", PIPELINE, "--wait", ...local(plane)], {
      api: { ...FAST, fetch: slowLedger },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(notYet).toBeLessThan(0);
    expect(result.out.at(-1)).toMatch(/^run \S+ succeeded: 201 rows/);
  });

  it("a pipeline or run that does not exist: the API's words, exit 2 (the argument is wrong)", async () => {
    const pipeline = await tapestry(["runs", "no-such-pipeline", ...local(plane)]);
    expect(pipeline.code).toBe(2);
    expect(pipeline.stderr).toContain('there is no pipeline named "no-such-pipeline"');
    const run = await tapestry(["logs", `${PIPELINE}-m01JD3Q6ZC7V8Y1XK2N4P5R6S7T`, ...local(plane)]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`there is no run "${PIPELINE}-m01JD3Q6ZC7V8Y1XK2N4P5R6S7T"`);
    expect(`${pipeline.stderr}${run.stderr}`).not.toMatch(CLASS_NAME_OR_STACK);
  });

  it("cancel of a run that has ended: refused, exit 1", async () => {
    const result = await tapestry(["cancel", runId, ...local(plane)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`run "${runId}" has ended (succeeded): there is nothing to cancel`);
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });

  it("honours NO_COLOR over FORCE_COLOR (a child process, as a user runs it)", async () => {
    const forced = await spawnTapestry(["status", ...local(plane)], { env: { FORCE_COLOR: "1" } });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain("\u001b[32mhealthy\u001b[39m");
    const plain = await spawnTapestry(["status", ...local(plane)], {
      env: { FORCE_COLOR: "1", NO_COLOR: "1" },
    });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain("healthy");
    expect(hasTerminalCodes(plain.stdout)).toBe(false);
  });
});

describe("against the embedded control plane: a run that fails, a run cancelled", {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  let plane: Plane;
  beforeAll(async () => {
    plane = await startPlane({
      // the first run: its dbt job fails; the second: its Airbyte jobs never end
      "dbt-cloud": { outcomes: [{ outcome: "failed", error: "relation raw.zoom does not exist" }] },
      airbyte: { outcomes: [{}, {}, { outcome: "stuck" }, { outcome: "stuck" }] },
    });
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await plane?.stop();
  });

  it("run --wait of a run that fails exits 1, naming the failed step, its error and its job's link", async () => {
    const result = await tapestry(["run", PIPELINE, "--wait", ...local(plane)], { api: FAST });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /✗ transform\/email-model dbt-cloud failed \(failed\): .*relation raw\.zoom does not exist/,
    );
    const verdict = result.out.slice(result.out.findIndex((line) => /^run \S+ failed/.test(line)));
    expect(verdict[0]).toMatch(/^run \S+ failed: /);
    expect(verdict[1]).toMatch(
      /^ {2}transform\/email-model \(dbt-cloud\) failed: .*relation raw\.zoom does not exist.* \(http:\/\/127\.0\.0\.1:\d+\/\S+\)$/,
    );
  });

  it("run, a second run refused while it goes (exit 1), cancel, then logs --follow to its end", async () => {
    const started = await tapestry(["run", PIPELINE, "--json", ...local(plane)]);
    expect(started.code).toBe(0);
    // the body is what --json prints; the Location header the check needs is the run's
    const location = { location: `/runs/${triggerAcceptedSchema.parse(JSON.parse(started.stdout)).runId}` };
    const accepted = jsonAnswer(
      started.stdout,
      triggerAcceptedSchema,
      "POST",
      `/pipelines/${PIPELINE}/runs`,
      202,
      location,
    );
    expect(accepted.status).toBe("accepted");

    const refused = await tapestry(["run", PIPELINE, ...local(plane)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`run "${accepted.runId}" of pipeline "${PIPELINE}" is still going`);

    // both Airbyte jobs are going (and stuck): the cancel has jobs to cancel
    await vi.waitFor(
      async () =>
        expect((await plane.ledger.getRun(accepted.runId))?.steps.filter((x) => x.externalId)).toHaveLength(
          2,
        ),
      { timeout: 20_000, interval: 50 },
    );
    const cancel = await tapestry([
      "cancel",
      accepted.runId,
      "--note",
      "wrong audience",
      "--json",
      ...local(plane),
    ]);
    expect(cancel.code, cancel.stderr).toBe(0);
    const cancelling = jsonAnswer(
      cancel.stdout,
      cancelAcceptedSchema,
      "POST",
      `/runs/${accepted.runId}/cancel`,
      202,
      location,
    );
    expect(cancelling).toEqual({ runId: accepted.runId, pipeline: PIPELINE, status: "cancelling" });

    const followed = await tapestry(["logs", accepted.runId, "--follow", ...local(plane)], { api: FAST });
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain(`■ run ${accepted.runId}: cancel requested (wrong audience)`);
    expect(followed.out.at(-1)).toMatch(
      new RegExp(
        `■ run ${accepted.runId} cancelled; jobs cancelled: (zoom-webinar-registrants|salesforce-contacts), (zoom-webinar-registrants|salesforce-contacts)$`,
      ),
    );
  });
});

describe("finding the embedded control plane", { timeout: TEST_TIMEOUT_MS }, () => {
  let plane: Plane;
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "tapestry-find-"));
    dirs.push(dir);
    return dir;
  };
  beforeAll(async () => {
    plane = await startPlane();
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await plane?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("through <state-dir>/local.json when its process is running", async () => {
    const dir = stateDir();
    writeFileSync(
      join(dir, "local.json"),
      JSON.stringify({ url: plane.apiUrl, pid: process.pid, startedAt: new Date().toISOString() }),
    );
    const result = await tapestry(["status", "--state-dir", dir, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(statusOverviewSchema.parse(JSON.parse(result.stdout)).pipelines[0]?.name).toBe(PIPELINE);
  });

  it("a file left by a process that is gone, or none: exit 2 saying how to start one", async () => {
    const dir = stateDir();
    writeFileSync(
      join(dir, "local.json"),
      JSON.stringify({ url: plane.apiUrl, pid: 4_000_000, startedAt: "x" }),
    );
    const stale = await tapestry(["status", "--state-dir", dir], { api: { isAlive: () => false } });
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/\(pid 4000000\) is no longer running: start it again \(npm start\)/);
    const none = await tapestry(["status", "--state-dir", stateDir()]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no embedded control plane is running for .*: start one with `npm start`/);
  });

  it("a control plane that does not answer: exit 1, naming where it was asked", async () => {
    // a port that was free a moment ago: nothing listens there
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const result = await tapestry(["status", "--local", `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `could not reach the embedded control plane at http://127.0.0.1:${port} (connection refused)`,
    );
  });

  it("tapestry local announces its API while it runs, and removes the file when it stops (child process)", async () => {
    const dir = stateDir();
    const { spawn } = await import("node:child_process");
    const { CLI, NODE, childEnv } = await import("../support/tapestry-cli");
    const child = spawn(NODE, [CLI, "local", "--no-initial-run", "--port", "0", "--state-dir", dir], {
      env: childEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let stdout = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      await vi.waitFor(() => expect(stdout).toContain("Running until Ctrl-C."), {
        timeout: 30_000,
        interval: 100,
      });
      const url = /status API at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
      const result = await tapestry(["status", "--state-dir", dir]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.out[1]).toMatch(new RegExp(`^${PIPELINE}\\s+never-run`));
      expect(url).toBeDefined();
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("close", resolve));
      const after = await tapestry(["status", "--state-dir", dir]);
      expect(after.code).toBe(2);
      expect(after.stderr).toMatch(/no embedded control plane is running/);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("against a deployed stage (--stage): SigV4-signed requests", { timeout: TEST_TIMEOUT_MS }, () => {
  const CREDENTIALS = { accessKeyId: "AKIDTAPESTRYTEST", secretAccessKey: "cli-test-secret-9f8e7d6c5b4a" };
  let plane: Plane;
  let gateway: Awaited<ReturnType<typeof startApiGatewayStandIn>>;
  beforeAll(async () => {
    plane = await startPlane();
    gateway = await startApiGatewayStandIn({
      target: plane.apiUrl,
      region: "eu-west-1",
      credentials: CREDENTIALS,
    });
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await gateway?.close();
    await plane?.stop();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** The credentials the SDK's default chain finds first: the environment's. */
  const credentialsInEnv = (credentials = CREDENTIALS) => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
    vi.stubEnv("AWS_SESSION_TOKEN", "");
    vi.stubEnv("AWS_PROFILE", "");
  };

  it("run --wait and status with --api-url: every request signed (GET and POST), the secret key never printed", async () => {
    credentialsInEnv();
    const stage = ["--stage", "prod", "--api-url", gateway.url, "--region", "eu-west-1"];
    const run = await tapestry(["run", PIPELINE, "--wait", ...stage], { api: FAST });
    expect(gateway.refusals).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.out.at(-1)).toMatch(/^run \S+ succeeded: 201 rows/);
    const status = await tapestry(["status", "--json", ...stage]);
    expect(status.code).toBe(0);
    expect(statusOverviewSchema.parse(JSON.parse(status.stdout)).pipelines[0]?.health).toBe("healthy");
    expect(gateway.refusals).toEqual([]);
    expect(gateway.authorized.map((c) => c.method)).toContain("POST");
    for (const output of [run.stdout, run.stderr, status.stdout, status.stderr]) {
      expect(output).not.toContain(CREDENTIALS.secretAccessKey);
    }
  });

  it("the URL from the stage's StatusApiUrl output (CloudFormation), the region from the client's chain", async () => {
    credentialsInEnv();
    const client = new CloudFormationClient({ region: "eu-west-1", credentials: CREDENTIALS });
    const cloudFormation = mockClient(client);
    cloudFormation.on(DescribeStacksCommand, { StackName: "prod-tapestry-StatusApi" }).resolves({
      Stacks: [
        {
          StackName: "prod-tapestry-StatusApi",
          CreationTime: new Date(),
          StackStatus: "UPDATE_COMPLETE",
          Outputs: [{ OutputKey: "StatusApiUrl", OutputValue: gateway.url }],
        },
      ],
    });
    const createCloudFormationClient = vi.fn(() => client);
    const result = await tapestry(["status", "--stage", "prod"], { api: { createCloudFormationClient } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.out[1]).toMatch(new RegExp(`^${PIPELINE}\\s+`));
    expect(createCloudFormationClient).toHaveBeenCalledWith({ region: undefined });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  it("a stage that is not deployed: exit 2, saying so and how to deploy it", async () => {
    credentialsInEnv();
    const client = new CloudFormationClient({ region: "eu-west-1", credentials: CREDENTIALS });
    mockClient(client)
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error("Stack with id staging-tapestry-StatusApi does not exist"), {
          name: "ValidationError",
        }),
      );
    const result = await tapestry(["status", "--stage", "staging"], {
      api: { createCloudFormationClient: () => client },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "stage staging is not deployed in eu-west-1: there is no stack staging-tapestry-StatusApi (deploy it with `npx sst deploy --stage staging`, or check --region / AWS_REGION)",
    );
  });

  it("credentials the API does not accept: API Gateway's 403, exit 1, with what to check", async () => {
    credentialsInEnv({ accessKeyId: "AKIDSOMEONEELSE", secretAccessKey: "another-secret-1a2b3c" });
    const result = await tapestry([
      "status",
      "--stage",
      "prod",
      "--api-url",
      gateway.url,
      "--region",
      "eu-west-1",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /refused GET \/status \(403\): Forbidden; your AWS credentials must be allowed execute-api:Invoke/,
    );
    expect(gateway.refusals.at(-1)).toBe("signed with another key: AKIDSOMEONEELSE");
    expect(result.stderr).not.toContain("another-secret-1a2b3c");
  });

  it("no credentials anywhere: exit 2 with the fixes", async () => {
    const result = await tapestry(
      ["status", "--stage", "prod", "--api-url", gateway.url, "--region", "eu-west-1"],
      {
        api: {
          credentials: async () => {
            throw new Error("Could not load credentials from any providers");
          },
        },
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /no AWS credentials to sign the request with .*: run `aws configure`, set AWS_PROFILE=<profile>, or run `aws sso login --profile <profile>`/,
    );
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });
});
