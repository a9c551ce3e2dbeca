import { createEvent, type TapestryEvent } from "@tapestry/core/events";
import { applyEvent, LedgerInputError, projectRun, type RunRecord } from "@tapestry/core/ledger";
import { describe, expect, it } from "vitest";
import {
  at,
  cancelledQueuedRun,
  failedRun,
  iso,
  PIPELINE,
  runIdAt,
  STAGES,
  seededRandom,
  shuffled,
  skippedRun,
  successfulRecord,
  successfulRun,
} from "../../ledger/run-events";

const fold = (events: readonly TapestryEvent[], from?: RunRecord): RunRecord | undefined =>
  events.reduce<RunRecord | undefined>(applyEvent, from);

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (const [i, item] of items.entries()) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [item, ...tail];
  }
}

const start = at(0);
const runId = runIdAt(PIPELINE, start);

describe("projectRun", () => {
  it("is undefined without events", () => {
    expect(projectRun([])).toBeUndefined();
  });

  it("projects a successful run (run and step fields, steps in plan order)", () => {
    const { events } = successfulRun(PIPELINE, start);
    expect(projectRun(events)).toEqual(successfulRecord(PIPELINE, start));
  });

  it("writes no undefined properties (records travel as JSON)", () => {
    const record = projectRun(failedRun(PIPELINE, start).events);
    const hasUndefined = (value: object): boolean =>
      Object.values(value).some(
        (v) => v === undefined || (v !== null && typeof v === "object" && hasUndefined(v)),
      );
    expect(record && hasUndefined(record)).toBe(false);
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it("projects a skipped run", () => {
    const { events } = skippedRun(PIPELINE, at(600), runId);
    expect(projectRun(events)).toEqual({
      runId: runIdAt(PIPELINE, at(600)),
      pipeline: PIPELINE,
      status: "skipped",
      trigger: { kind: "schedule", scheduledTime: iso(600) },
      activeRunId: runId,
      steps: [],
      updatedAt: iso(600),
    });
  });

  it("sets updatedAt to the newest occurredAt applied", () => {
    const { events } = successfulRun(PIPELINE, start);
    expect(projectRun(events.slice(0, 5))?.updatedAt).toBe(iso(90));
    expect(projectRun([...events].reverse().slice(0, 3))?.updatedAt).toBe(iso(201));
  });
});

describe("applyEvent: order tolerance", () => {
  it("gives the same record for every order of a run's first six events (all 720)", () => {
    const events = failedRun(PIPELINE, start).events;
    expect(events).toHaveLength(6);
    const expected = projectRun(events);
    let orders = 0;
    for (const order of permutations(events)) {
      expect(fold(order)).toEqual(expected);
      orders += 1;
    }
    expect(orders).toBe(720);
  });

  it("gives the same record for 500 random orders of a whole run, with duplicates mixed in", () => {
    const { events } = successfulRun(PIPELINE, start);
    const expected = successfulRecord(PIPELINE, start);
    const random = seededRandom(42);
    for (let round = 0; round < 500; round++) {
      const duplicates = events.filter(() => random() < 0.3);
      const order = shuffled([...events, ...duplicates], random);
      expect(fold(order), `round ${round}`).toEqual(expected);
    }
  });

  it("stays order-independent even for events that contradict each other", () => {
    // what the state machine never emits: two outcomes per step and per run, two starts with different jobs
    const ctx = (seconds: number) => ({ pipeline: PIPELINE, now: at(seconds) });
    const ref = { runId, stage: "ingest", step: "zoom-webinar-registrants", tool: "airbyte" as const };
    const events: TapestryEvent[] = [
      ...successfulRun(PIPELINE, start).events,
      createEvent(
        "StepStarted",
        { ...ref, externalId: "job-999", attached: true, startedAt: iso(5), deadline: iso(3605) },
        ctx(5),
      ),
      createEvent("StepFailed", { ...ref, reason: "timeout", error: "timed out", endedAt: iso(90) }, ctx(90)),
      createEvent(
        "StepFailed",
        { ...ref, reason: "cancelled", error: "cancelled by a human", endedAt: iso(95) },
        ctx(95),
      ),
      createEvent(
        "PipelineRunFailed",
        { runId, endedAt: iso(201), failedSteps: ["zoom-webinar-registrants"], error: "zoom failed" },
        ctx(201),
      ),
      createEvent(
        "PipelineRunStarted",
        { runId, trigger: { kind: "manual" }, stages: [...STAGES].reverse() },
        ctx(2),
      ),
    ];
    const expected = projectRun(events);
    const random = seededRandom(7);
    for (let round = 0; round < 300; round++) {
      expect(fold(shuffled(events, random)), `round ${round}`).toEqual(expected);
    }
    // and the documented tie-breaks
    expect(expected?.status).toBe("failed"); // same end as the success: failed wins
    expect(expected?.error).toBe("zoom failed");
    expect(expected?.rows).toBeUndefined(); // the outcome comes whole from one event
    const zoom = expected?.steps.find((s) => s.step === "zoom-webinar-registrants");
    expect(zoom).toMatchObject({
      status: "failed",
      reason: "cancelled",
      endedAt: iso(95),
      startedAt: iso(1),
    });
    expect(zoom?.rows).toBeUndefined();
    expect(zoom?.externalId).toBe("job-101"); // the smaller of the two
  });
});

describe("applyEvent: idempotency", () => {
  it("changes nothing when an event already applied is applied again, at any point", () => {
    const { events } = successfulRun(PIPELINE, start);
    for (let n = 1; n <= events.length; n++) {
      const prefix = events.slice(0, n);
      const record = fold(prefix);
      for (const seen of prefix) expect(applyEvent(record, seen)).toEqual(record);
    }
  });
});

describe("applyEvent: no regression", () => {
  const { events } = successfulRun(PIPELINE, start);
  const byType = (type: string, step?: string) => {
    const found = events.find(
      (e) =>
        e["detail-type"] === type &&
        (step === undefined || ("step" in e.detail.data && e.detail.data.step === step)),
    );
    if (!found) throw new Error(`no ${type} in the fixture`);
    return found;
  };

  it("a late StepStarted does not reopen a finished step, it only fills what is missing", () => {
    const stepStarted = byType("StepStarted", "mailchimp-audience");
    const stepSucceeded = byType("StepSucceeded", "mailchimp-audience");
    const ended = applyEvent(undefined, stepSucceeded);
    expect(ended.status).toBe("running"); // the run: nothing says it ended
    expect(ended.steps).toEqual([
      expect.objectContaining({ step: "mailchimp-audience", status: "succeeded" }),
    ]);
    expect(ended.steps[0]?.attached).toBeUndefined();

    const late = applyEvent(ended, stepStarted);
    expect(late.steps[0]).toEqual({ ...ended.steps[0], attached: false });
  });

  it("a late StepStarted fills the external id and link a StepFailed lacked", () => {
    const where = { stage: "model", step: "email-model", tool: "dbt-cloud" as const };
    const ref = { runId, ...where };
    const failed = createEvent(
      "StepFailed",
      { ...ref, reason: "timeout", error: "no answer in 30 minutes", endedAt: iso(1900) },
      { pipeline: PIPELINE, now: at(1900) },
    );
    const started = createEvent(
      "StepStarted",
      {
        ...ref,
        externalId: "70403103",
        url: "https://cloud.getdbt.com/runs/70403103",
        attached: false,
        startedAt: iso(100),
        deadline: iso(1900),
      },
      { pipeline: PIPELINE, now: at(100) },
    );
    const step = applyEvent(applyEvent(undefined, failed), started).steps[0];
    expect(step).toEqual({
      ...where,
      status: "failed",
      externalId: "70403103",
      url: "https://cloud.getdbt.com/runs/70403103",
      attached: false,
      startedAt: iso(100),
      endedAt: iso(1900),
      reason: "timeout",
      error: "no answer in 30 minutes",
    });
  });

  it("a late PipelineRunStarted does not reopen a finished run; it adds the trigger and the plan, which orders the steps", () => {
    const runStarted = byType("PipelineRunStarted");
    const rest = events.filter((e) => e !== runStarted);
    const withoutStart = fold(rest);
    expect(withoutStart?.status).toBe("succeeded");
    expect(withoutStart?.trigger).toBeUndefined();
    expect(withoutStart?.stages).toBeUndefined();
    expect(withoutStart?.startedAt).toBe(iso(0)); // from PipelineRunSucceeded's startedAt
    // without a plan: by stage name, then step name
    expect(withoutStart?.steps.map((s) => `${s.stage}/${s.step}`)).toEqual([
      "activate/mailchimp-audience",
      "ingest/salesforce-contacts",
      "ingest/zoom-webinar-registrants",
      "model/email-model",
    ]);

    const complete = applyEvent(withoutStart, runStarted);
    expect(complete).toEqual(successfulRecord(PIPELINE, start));
  });
});

describe("applyEvent: steps", () => {
  it("lists only the steps that started, in plan order even when they started in another", () => {
    const { events } = successfulRun(PIPELINE, start);
    const [runStarted, zoomStarted, salesforceStarted] = events;
    if (!runStarted || !zoomStarted || !salesforceStarted) throw new Error("fixture too short");
    const record = fold([runStarted, salesforceStarted]);
    expect(record?.steps.map((s) => s.step)).toEqual(["salesforce-contacts"]);
    expect(record?.stages).toEqual(STAGES);
    expect(applyEvent(record, zoomStarted).steps.map((s) => s.step)).toEqual([
      "zoom-webinar-registrants",
      "salesforce-contacts",
    ]);
  });

  it("puts a step the plan does not name after the planned steps of its stage", () => {
    const { events } = successfulRun(PIPELINE, start);
    const extra = createEvent(
      "StepStarted",
      {
        runId,
        stage: "ingest",
        step: "a-late-addition",
        tool: "airbyte",
        externalId: "job-5",
        attached: false,
        startedAt: iso(2),
        deadline: iso(3602),
      },
      { pipeline: PIPELINE, now: at(2) },
    );
    expect(projectRun([...events, extra])?.steps.map((s) => s.step)).toEqual([
      "zoom-webinar-registrants",
      "salesforce-contacts",
      "a-late-addition",
      "email-model",
      "mailchimp-audience",
    ]);
  });
});

describe("applyEvent: errors", () => {
  it("refuses an event of another run", () => {
    const record = projectRun(successfulRun(PIPELINE, start).events);
    const [other] = successfulRun(PIPELINE, at(3600)).events;
    if (!other) throw new Error("fixture too short");
    expect(() => applyEvent(record, other)).toThrow(LedgerInputError);
  });

  it("takes the pipeline from the run id when the metadata has none, and refuses an event with neither", () => {
    const [first] = successfulRun(PIPELINE, start).events;
    if (!first) throw new Error("fixture too short");
    const { pipeline: _, ...metadata } = first.detail.metadata;
    const anonymous = { ...first, detail: { ...first.detail, metadata } } as TapestryEvent;
    expect(applyEvent(undefined, anonymous).pipeline).toBe(PIPELINE);

    const nowhere = createEvent(
      "PipelineRunSkipped",
      { runId: "Not A Run Id", trigger: { kind: "manual" }, reason: "overlap", activeRunId: "x" },
      { pipeline: PIPELINE, now: start },
    );
    const { pipeline: __, ...bare } = nowhere.detail.metadata;
    expect(() =>
      applyEvent(undefined, { ...nowhere, detail: { ...nowhere.detail, metadata: bare } } as TapestryEvent),
    ).toThrow(LedgerInputError);
  });
});

describe("queued, cancelled and reconciled runs", () => {
  const holder = runIdAt(PIPELINE, at(-600));

  it("reads queued until the run starts, then running, in any delivery order", () => {
    const { runId: queuedId, events } = cancelledQueuedRun(PIPELINE, start, holder);
    const [queued] = events;
    if (!queued) throw new Error("fixture too short");
    expect(projectRun([queued])).toMatchObject({
      runId: queuedId,
      status: "queued",
      queuedAt: iso(0),
      activeRunId: holder,
      trigger: { kind: "schedule", scheduledTime: iso(0) },
    });
    const started = createEvent(
      "PipelineRunStarted",
      { runId: queuedId, trigger: { kind: "schedule", scheduledTime: iso(0) }, stages: STAGES },
      { pipeline: PIPELINE, now: at(900) },
    );
    for (const order of permutations([queued, started])) {
      expect(projectRun(order)).toMatchObject({ status: "running", queuedAt: iso(0), startedAt: iso(900) });
      expect(fold(order)?.status).toBe("running");
    }
  });

  it("projects a queued run cancelled on request: cancelled, with when it was asked for", () => {
    const { runId: queuedId, events } = cancelledQueuedRun(PIPELINE, start, holder);
    for (const order of permutations(events)) {
      expect(projectRun(order)).toMatchObject({
        runId: queuedId,
        status: "cancelled",
        queuedAt: iso(0),
        cancelRequestedAt: iso(30),
        endedAt: iso(31),
        cancelledSteps: [],
        reconciled: true,
      });
    }
  });

  it("ends the steps a failed or cancelled run left going: failed, aborted, inferred; the step's own event replaces that", () => {
    const { events } = successfulRun(PIPELINE, start);
    // the run started and both ingest steps started; then the execution was aborted
    const beforeAbort = events.slice(0, 3);
    const failed = createEvent(
      "PipelineRunFailed",
      {
        runId,
        endedAt: iso(50),
        failedSteps: [],
        error: "aborted: the execution was stopped",
        reason: "aborted",
        reconciled: true,
      },
      { pipeline: PIPELINE, now: at(50) },
    );
    const run = projectRun([...beforeAbort, failed]);
    expect(run?.status).toBe("failed");
    expect(run?.reason).toBe("aborted");
    expect(run?.steps.map((s) => [s.step, s.status, s.reason, s.inferred])).toEqual([
      ["zoom-webinar-registrants", "failed", "aborted", true],
      ["salesforce-contacts", "failed", "aborted", true],
    ]);
    expect(run?.steps[0]?.error).toMatch(/the run failed while this step was going/);

    // the step's own outcome, however late, replaces the inferred one, applied one by one or all at once
    const salesforceSucceeded = events.find(
      (e) => e["detail-type"] === "StepSucceeded" && e.detail.data.step === "salesforce-contacts",
    );
    if (!salesforceSucceeded) throw new Error("fixture has no salesforce success");
    for (const record of [
      fold([salesforceSucceeded], run),
      projectRun([...beforeAbort, failed, salesforceSucceeded]),
    ]) {
      expect(record?.steps.map((s) => [s.step, s.status, s.inferred])).toEqual([
        ["zoom-webinar-registrants", "failed", true],
        ["salesforce-contacts", "succeeded", undefined],
      ]);
    }
  });

  it("prefers the outcome the state machine stated over the one the reconciler inferred, in any order", () => {
    const { events } = successfulRun(PIPELINE, start);
    const inferred = createEvent(
      "PipelineRunFailed",
      { runId, endedAt: iso(9000), failedSteps: [], error: "aborted", reason: "aborted", reconciled: true },
      { pipeline: PIPELINE, now: at(9000) },
    );
    const expected = { ...successfulRecord(PIPELINE, start), updatedAt: iso(9000) };
    expect(projectRun([...events, inferred])).toEqual(expected);
    expect(projectRun([inferred, ...events])).toEqual(expected);
    expect(fold([inferred], projectRun(events))).toEqual(expected);
    expect(fold(events, fold([inferred]))).toEqual(expected);
  });
});
