import { type PipelineSpec, parseConfig, type StepSpec } from "@tapestry/core/config";
import type { JobStatus } from "@tapestry/core/connectors";
import type { TapestryEvent } from "@tapestry/core/events";
import { silentLogger } from "@tapestry/core/logging";
import {
  type ExecutionEnd,
  RUN_EXECUTION_ERRORS,
  reconcileInputOf,
  reconcileRun,
} from "@tapestry/core/pipeline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteRunLedger } from "../../../packages/local/src/ledger";
import kickstart from "../../../tapestry.config";
import { at, iso, PIPELINE, successfulRun } from "../../ledger/run-events";

/**
 * The run reconciler over a real ledger (SQLite in memory) and a scripted connector: what a run
 * whose execution ended outside the state machine's paths ends as, and what it does to the jobs.
 */

const SPEC: PipelineSpec = { ...(parseConfig(kickstart).pipelines[0] as PipelineSpec), name: PIPELINE };
const STAGE_OF: Record<string, string> = {
  "zoom-webinar-registrants": "ingest",
  "salesforce-contacts": "ingest",
};

let ledger: SqliteRunLedger;
let published: TapestryEvent[];
let cancels: { step: string; externalId: string }[];
let answer: (step: StepSpec, externalId: string) => Promise<JobStatus>;

const deps = (overrides: Partial<Parameters<typeof reconcileRun>[1]> = {}) => ({
  ledger,
  publisher: {
    publish: async (events: readonly TapestryEvent[]) => {
      published.push(...events);
      for (const event of events) await ledger.record(event);
    },
  },
  connectors: {
    cancel: async (step: StepSpec, externalId: string) => {
      cancels.push({ step: step.name, externalId });
      return answer(step, externalId);
    },
  },
  pipeline: (name: string) => (name === PIPELINE ? SPEC : undefined),
  now: () => at(300),
  logger: silentLogger,
  ...overrides,
});

/** The kickstart run's first events: started, both ingest steps started (jobs 101 and 102), one lock held. */
async function runInFlight(): Promise<string> {
  const { runId, events } = successfulRun(PIPELINE, at(0));
  for (const event of events.slice(0, 3)) await ledger.record(event);
  await ledger.acquireRunLock({ pipeline: PIPELINE, runId, expiresAt: iso(9000), now: iso(0) });
  return runId;
}

const cancelled = (toolStatus = "cancelled"): JobStatus => ({
  state: "cancelled",
  toolStatus,
  reason: "cancelled",
});

beforeEach(() => {
  ledger = SqliteRunLedger.open(":memory:");
  published = [];
  cancels = [];
  answer = async () => cancelled();
});

afterEach(() => ledger.close());

describe("reconcileRun", () => {
  it("cancels the jobs a stopped run left going, closes its steps, records it failed (aborted) and frees its lock", async () => {
    const runId = await runInFlight();
    const result = await reconcileRun({ runId, ending: "aborted", detail: "stopped by hand" }, deps());

    expect(result).toMatchObject({ outcome: "failed", notCancelled: [] });
    expect([...result.cancelled].sort()).toEqual(["salesforce-contacts", "zoom-webinar-registrants"]);
    expect(result.ended).toEqual([]);
    expect(cancels.map((c) => c.externalId).sort()).toEqual(["job-101", "job-102"]);
    const run = await ledger.getRun(runId);
    expect(run).toMatchObject({ status: "failed", reason: "aborted", reconciled: true });
    expect(run?.error).toMatch(
      /^aborted: the run's execution was stopped before it finished; stopped by hand/,
    );
    expect(run?.steps.map((s) => [s.step, s.status, s.reason, STAGE_OF[s.step]])).toEqual([
      ["zoom-webinar-registrants", "failed", "aborted", "ingest"],
      ["salesforce-contacts", "failed", "aborted", "ingest"],
    ]);
    expect(run?.steps.every((s) => s.inferred === undefined)).toBe(true);
    expect(await ledger.getRunLock(PIPELINE, iso(301))).toBeUndefined();
  });

  it("keeps a job's own outcome when it had ended by itself: its rows, or its failure", async () => {
    const runId = await runInFlight();
    answer = async (_, id) =>
      id === "job-101"
        ? { state: "succeeded", toolStatus: "succeeded", rows: 40 }
        : { state: "failed", toolStatus: "failed", reason: "failed", error: "sync failed in Airbyte" };
    const result = await reconcileRun({ runId, ending: "timed-out" }, deps());
    expect(result).toMatchObject({ cancelled: [], notCancelled: [] });
    expect([...result.ended].sort()).toEqual(["salesforce-contacts", "zoom-webinar-registrants"]);
    const run = await ledger.getRun(runId);
    expect(run?.reason).toBe("timed-out");
    expect(run?.steps.map((s) => [s.step, s.status, s.rows ?? null, s.reason ?? null])).toEqual([
      ["zoom-webinar-registrants", "succeeded", 40, null],
      ["salesforce-contacts", "failed", null, "failed"],
    ]);
  });

  it("judges a job that ended by itself by the step's guards, as a poll would: too few rows fail it", async () => {
    const runId = await runInFlight();
    answer = async () => ({ state: "succeeded", toolStatus: "succeeded", rows: 0 });
    await reconcileRun({ runId, ending: "aborted" }, deps());
    const run = await ledger.getRun(runId);
    expect(run?.steps.map((s) => [s.step, s.status, s.reason])).toEqual([
      ["zoom-webinar-registrants", "failed", "min-rows"],
      ["salesforce-contacts", "failed", "min-rows"],
    ]);
  });

  it("does not take a status the connector does not know for a job that ended by itself", async () => {
    const runId = await runInFlight();
    answer = async () => ({
      state: "failed",
      toolStatus: "paused",
      reason: "unknown-status",
      error: "airbyte reported a job status Tapestry does not know: paused",
    });
    const result = await reconcileRun({ runId, ending: "aborted" }, deps());
    expect(result.ended).toEqual([]);
    const run = await ledger.getRun(runId);
    expect(run?.steps.map((s) => [s.step, s.reason, s.error])).toEqual([
      [
        "zoom-webinar-registrants",
        "aborted",
        expect.stringContaining("was asked to stop (it reports paused for now)"),
      ],
      [
        "salesforce-contacts",
        "aborted",
        expect.stringContaining("was asked to stop (it reports paused for now)"),
      ],
    ]);
  });

  it("says which jobs it could not cancel, and why, in the step, the run and its answer", async () => {
    const runId = await runInFlight();
    answer = async (_, id) => {
      if (id === "job-102") throw new Error("airbyte cancel job (DELETE /jobs/102) failed with HTTP 503");
      return cancelled();
    };
    const result = await reconcileRun({ runId, ending: "aborted" }, deps());
    expect(result.notCancelled).toEqual([
      { step: "salesforce-contacts", externalId: "job-102", why: expect.stringContaining("HTTP 503") },
    ]);
    const run = await ledger.getRun(runId);
    expect(run?.error).toContain("not cancelled: salesforce-contacts (job job-102)");
    expect(run?.steps.find((s) => s.step === "salesforce-contacts")?.error).toContain("failed with HTTP 503");
  });

  it("gives up on a cancel that takes too long, and reports it", async () => {
    const runId = await runInFlight();
    answer = () => new Promise(() => undefined);
    const result = await reconcileRun({ runId, ending: "aborted" }, deps({ cancelTimeoutMs: 20 }));
    expect(result.notCancelled.map((p) => p.why)).toEqual([
      "no answer within 20 ms",
      "no answer within 20 ms",
    ]);
    expect((await ledger.getRun(runId))?.status).toBe("failed");
  });

  it("leaves the jobs running when the config says so, and reports each one", async () => {
    const runId = await runInFlight();
    const result = await reconcileRun({ runId, ending: "aborted" }, deps({ jobs: "leave" }));
    expect(cancels).toEqual([]);
    expect(result.notCancelled.map((p) => [p.step, p.why])).toEqual([
      ["zoom-webinar-registrants", "left running on purpose (reconcile: leave)"],
      ["salesforce-contacts", "left running on purpose (reconcile: leave)"],
    ]);
  });

  it("records a run whose cancel was requested as cancelled, with the steps whose jobs it cancelled", async () => {
    const runId = await runInFlight();
    await ledger.record(
      (await import("@tapestry/core/events")).createEvent(
        "PipelineRunCancelRequested",
        { runId, requestedAt: iso(200) },
        { pipeline: PIPELINE, now: at(200) },
      ),
    );
    answer = async (_, id) =>
      id === "job-101" ? { state: "succeeded", toolStatus: "succeeded", rows: 40 } : cancelled();
    const result = await reconcileRun({ runId, ending: "aborted" }, deps());
    expect(result).toMatchObject({
      outcome: "cancelled",
      cancelled: ["salesforce-contacts"],
      ended: ["zoom-webinar-registrants"],
    });
    // only the jobs it really cancelled: the one that had ended by itself keeps its success
    expect(await ledger.getRun(runId)).toMatchObject({
      status: "cancelled",
      cancelRequestedAt: iso(200),
      cancelledSteps: ["salesforce-contacts"],
    });
  });

  it("only frees the lock of a run the ledger already shows ended, and a second delivery changes nothing", async () => {
    const runId = await runInFlight();
    await reconcileRun({ runId, ending: "aborted" }, deps());
    const events = published.length;
    await ledger.acquireRunLock({ pipeline: PIPELINE, runId, expiresAt: iso(9000), now: iso(400) });

    const again = await reconcileRun({ runId, ending: "aborted" }, deps());
    expect(again.outcome).toBe("already-ended");
    expect(published).toHaveLength(events);
    expect(cancels).toHaveLength(2);
    expect(await ledger.getRunLock(PIPELINE, iso(401))).toBeUndefined();
  });

  it("states nothing for a run whose execution says its outcome was published, though the ledger has not caught up: it only frees the lock", async () => {
    const runId = await runInFlight();
    const input = reconcileInputOf({
      runId,
      status: "FAILED",
      error: RUN_EXECUTION_ERRORS.failedAndPublished,
    });
    const result = await reconcileRun(input, deps());
    expect(result.outcome).toBe("already-ended");
    expect(published).toEqual([]);
    expect(cancels).toEqual([]);
    expect(await ledger.getRunLock(PIPELINE, iso(301))).toBeUndefined();
  });

  it("states the outcome of a run whose execution says it could not publish it", async () => {
    const runId = await runInFlight();
    const input = reconcileInputOf({
      runId,
      status: "FAILED",
      error: RUN_EXECUTION_ERRORS.failedUnpublished,
    });
    const result = await reconcileRun(input, deps());
    expect(result.outcome).toBe("failed");
    expect(await ledger.getRun(runId)).toMatchObject({ status: "failed", reason: "error", reconciled: true });
  });

  it("records an outcome for a run that died before its first event, and frees its lock", async () => {
    const runId = `${PIPELINE}-20260301T070000Z`;
    await ledger.acquireRunLock({ pipeline: PIPELINE, runId, expiresAt: iso(9000), now: iso(0) });
    const result = await reconcileRun({ runId, ending: "error", detail: "States.Runtime" }, deps());
    expect(result.outcome).toBe("failed");
    expect(await ledger.getRun(runId)).toMatchObject({ status: "failed", reason: "error", failedSteps: [] });
    expect(await ledger.getRunLock(PIPELINE, iso(1))).toBeUndefined();
  });
});

describe("reconcileInputOf", () => {
  const end = (status: ExecutionEnd["status"], error?: string, cause?: string): ExecutionEnd => ({
    runId: "r",
    status,
    error,
    cause,
  });

  it.each([
    [end("ABORTED"), "aborted"],
    [end("TIMED_OUT", "States.Timeout"), "timed-out"],
    [
      end("FAILED", "States.Runtime", "The execution reached the maximum number of history events (25000)."),
      "history-limit",
    ],
    [end("FAILED", "Lambda.Unknown", "The cause could not be determined"), "error"],
    [end("FAILED"), "error"],
  ] as const)("%j ends %s", (execution, ending) => {
    expect(reconcileInputOf(execution).ending).toBe(ending);
  });
});
