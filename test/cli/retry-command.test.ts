import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retryAcceptedSchema } from "../../packages/cli/src/retry-command";
import { runDetailSchema } from "../../packages/cli/src/status-api/answers";
import { checkAnswer } from "../api/status-api-answers";
import { type Plane, startPlane } from "../state-machines/harness";
import { CLASS_NAME_OR_STACK, tapestry } from "./harness";

/**
 * `tapestry retry <runId> [--wait]` against the embedded control plane (real ASL, sandboxes): a
 * run that failed in its transform stage, retried from there.
 */

const PIPELINE = "rain-shield-audience";
const FAST = { pollIntervalMs: 50 };
const TEST_TIMEOUT_MS = 60_000;

describe("tapestry retry, against the embedded control plane", { timeout: TEST_TIMEOUT_MS }, () => {
  let plane: Plane;
  let failedRunId = "";
  beforeAll(async () => {
    plane = await startPlane({
      "dbt-cloud": { outcomes: [{ outcome: "failed", error: "relation raw.zoom does not exist" }] },
    });
    const first = await plane.startRun(PIPELINE, { kind: "manual" });
    await first.execution?.outcome;
    await plane.idle();
    failedRunId = first.runId;
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await plane?.stop();
  });

  it("--wait starts the new run from the failed stage, prints its events and its outcome, and exits 0", async () => {
    const waited = await tapestry(["retry", failedRunId, "--wait", "--local", plane.apiUrl], { api: FAST });
    expect(waited.code, waited.stderr).toBe(0);
    const retryId = /^run (\S+) of/.exec(waited.out[0] ?? "")?.[1] ?? "";
    expect(waited.out[0]).toBe(
      `run ${retryId} of ${PIPELINE} retries ${failedRunId} from stage transform; waiting for it to end`,
    );
    expect(waited.stdout).toContain(
      `▶ run ${retryId} started (retry of ${failedRunId} from stage transform; skipped ingest: succeeded in ${failedRunId})`,
    );
    expect(waited.stdout).not.toContain("ingest/zoom-webinar-registrants");
    expect(waited.stdout).toMatch(/✓ transform\/email-model dbt-cloud 58 rows/);
    expect(waited.stdout).toMatch(/✓ sync\/mailchimp-audience grouparoo 58 rows/);
    expect(waited.out.at(-1)).toMatch(new RegExp(`^run ${retryId} succeeded: 116 rows in \\d+\\.\\d s$`));

    // the first run lists its retry; the retry that succeeded has nothing to retry: exit 1, no class names
    const first = runDetailSchema.parse(await (await fetch(`${plane.apiUrl}/runs/${failedRunId}`)).json());
    expect(first.retries).toEqual([{ runId: retryId, status: "succeeded" }]);
    const again = await tapestry(["retry", retryId, "--local", plane.apiUrl]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`run "${retryId}" succeeded: there is nothing to retry`);
    expect(again.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });

  it("--json prints the API's 202 answer", async () => {
    const json = await tapestry(["retry", failedRunId, "--json", "--local", plane.apiUrl]);
    expect(json.code, json.stderr).toBe(0);
    const accepted = retryAcceptedSchema.parse(JSON.parse(json.stdout));
    expect(accepted).toMatchObject({ pipeline: PIPELINE, retryOf: failedRunId, fromStage: "transform" });
    const problems = checkAnswer({
      method: "POST",
      path: `/runs/${failedRunId}/retry`,
      status: 202,
      headers: { "content-type": "application/json", location: `/runs/${accepted.runId}` },
      body: json.stdout,
    });
    expect(problems).toEqual([]);
    await plane.runs.execution(accepted.runId)?.outcome;
    await plane.idle();
  });

  it("a malformed run id is a usage error (exit 2) and nothing is asked", async () => {
    const bad = await tapestry(["retry", "not a run", "--local", plane.apiUrl]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"not a run" is not a run id');
  });

  it("an unknown run is a usage error too (exit 2, the CLI's policy for a 404), with the API's reason", async () => {
    const unknown = await tapestry(["retry", `${PIPELINE}-20200101T000000Z`, "--local", plane.apiUrl]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`there is no run "${PIPELINE}-20200101T000000Z"`);
  });
});
