import { createEvent, type TapestryEvent } from "@tapestry/core/events";
import {
  InvalidCursorError,
  LedgerInputError,
  projectRun,
  type RunLedger,
  type RunLockRequest,
} from "@tapestry/core/ledger";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  at,
  failedRun,
  iso,
  OTHER_PIPELINE,
  PIPELINE,
  runIdAt,
  STAGES,
  seededRandom,
  shuffled,
  skippedRun,
  successfulRecord,
  successfulRun,
} from "./run-events";

export type ClosableRunLedger = RunLedger & { close(): Promise<void> | void };

/**
 * The behaviour every RunLedger adapter owes its callers (the state machine's lock tasks, the
 * ledger projector, the status API). Each adapter's test file calls this with a function that
 * opens a fresh, empty ledger; each test gets its own and closes it.
 */
export function describeRunLedgerContract(name: string, open: () => Promise<ClosableRunLedger>): void {
  describe(`RunLedger contract: ${name}`, () => {
    let ledger: ClosableRunLedger;

    beforeEach(async () => {
      ledger = await open();
    });

    afterEach(async () => {
      await ledger.close();
    });

    const recordAll = async (events: readonly TapestryEvent[]) => {
      for (const event of events) await ledger.record(event);
    };

    /** Asks for `runId`'s lock of PIPELINE (or `extra.pipeline`'s) until `expiresAt`, at `now` (seconds from T0). */
    const lock = (runId: string, expiresAt: number, now: number, extra: Partial<RunLockRequest> = {}) =>
      ledger.acquireRunLock({
        pipeline: PIPELINE,
        runId,
        expiresAt: iso(expiresAt),
        now: iso(now),
        ...extra,
      });
    /** The lock of PIPELINE as `getRunLock` shows it while `runId` holds it until `expiresAt`. */
    const heldBy = (runId: string, expiresAt: number) => ({
      pipeline: PIPELINE,
      runId,
      expiresAt: iso(expiresAt),
    });
    const holder = (at: number) => ledger.getRunLock(PIPELINE, iso(at));

    describe("run lock", () => {
      const runA = runIdAt(PIPELINE, at(0));
      const runB = runIdAt(PIPELINE, at(600));

      it("is taken when free, and tells who holds it until when", async () => {
        expect(await holder(0)).toBeUndefined();
        expect(await lock(runA, 3600, 0)).toEqual({ acquired: true });
        expect(await holder(1)).toEqual(heldBy(runA, 3600));
      });

      it("is re-entrant for the same run, which extends its expiry", async () => {
        await lock(runA, 3600, 0);
        expect(await lock(runA, 7200, 60)).toEqual({ acquired: true });
        expect(await holder(3600)).toEqual(heldBy(runA, 7200));
      });

      it("is refused to another run while held, naming the holder", async () => {
        await lock(runA, 3600, 0);
        expect(await lock(runB, 4200, 600)).toEqual({ acquired: false, heldBy: runA });
        expect(await holder(600)).toEqual(heldBy(runA, 3600));
      });

      it("is released only by its holder", async () => {
        await lock(runA, 3600, 0);
        await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runB });
        expect(await holder(10)).toEqual(heldBy(runA, 3600));

        await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runA });
        expect(await holder(10)).toBeUndefined();
        expect(await lock(runB, 4200, 600)).toEqual({ acquired: true });
      });

      it("releasing a lock nobody holds is a no-op", async () => {
        await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runA });
        expect(await holder(0)).toBeUndefined();
      });

      it("counts as free from its expiry on, and is taken over then", async () => {
        await lock(runA, 3600, 0);
        expect(await holder(3599)).toEqual(heldBy(runA, 3600));
        expect(await holder(3600)).toBeUndefined();

        expect(await lock(runB, 3599, 3599)).toEqual({ acquired: false, heldBy: runA });
        expect(await lock(runB, 7200, 3600)).toEqual({ acquired: true });
        expect(await holder(3600)).toEqual(heldBy(runB, 7200));

        // the former holder's late release does not free the new holder's lock
        await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runA });
        expect(await holder(3601)).toEqual(heldBy(runB, 7200));
      });

      it("is one per pipeline", async () => {
        const other = runIdAt(OTHER_PIPELINE, at(0));
        await lock(runA, 3600, 0);
        expect(await lock(other, 3600, 0, { pipeline: OTHER_PIPELINE })).toEqual({ acquired: true });
        await ledger.releaseRunLock({ pipeline: OTHER_PIPELINE, runId: other });
        expect(await holder(1)).toEqual(heldBy(runA, 3600));
        expect(await ledger.getRunLock(OTHER_PIPELINE, iso(1))).toBeUndefined();
      });
    });

    describe("run lock owners and the queue", () => {
      const runA = runIdAt(PIPELINE, at(0));
      const runB = runIdAt(PIPELINE, at(60));
      const runC = runIdAt(PIPELINE, at(120));
      const runD = runIdAt(PIPELINE, at(180));
      const queued = (requestedAt: number, expiresAt = 7200) => ({
        requestedAt: iso(requestedAt),
        expiresAt: iso(expiresAt),
      });
      const queuedRunIds = async (at: number) =>
        (await ledger.listQueuedRuns(PIPELINE, iso(at))).map((e) => e.runId);

      it("keeps the owner of a lock, and lists every lock held", async () => {
        await lock(runA, 3600, 0, { owner: "local:123:session-a" });
        expect(await holder(1)).toEqual({ ...heldBy(runA, 3600), owner: "local:123:session-a" });
      });

      it("gives the lock to queued runs in the order they were asked for, whatever order they ask in", async () => {
        await lock(runA, 3600, 0);
        // C was asked for after B, but asks for the lock first
        expect(
          await ledger.enqueueRun({ pipeline: PIPELINE, runId: runB, now: iso(60), ...queued(60) }),
        ).toBe(1);
        expect(await lock(runC, 4000, 130, { queue: queued(120) })).toEqual({
          acquired: false,
          heldBy: runA,
          position: 2,
        });
        expect(await queuedRunIds(130)).toEqual([runB, runC]);

        await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runA });
        // free, but it is B's turn: C waits, and is told whose turn it is
        expect(await lock(runC, 4000, 200, { queue: queued(120) })).toEqual({
          acquired: false,
          heldBy: runB,
          position: 2,
        });
        expect(await lock(runB, 4000, 201, { queue: queued(60) })).toEqual({ acquired: true });
        // B left the queue when it took the lock: C is next
        expect(await queuedRunIds(202)).toEqual([runC]);
        await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runB });
        expect(await lock(runC, 4000, 300, { queue: queued(120) })).toEqual({ acquired: true });
        expect(await ledger.listQueuedRuns(PIPELINE, iso(300))).toEqual([]);
      });

      it("keeps a run's first place when it asks again, and forgets places past their expiry", async () => {
        await lock(runA, 3600, 0);
        await ledger.enqueueRun({ pipeline: PIPELINE, runId: runB, now: iso(60), ...queued(60, 600) });
        await ledger.enqueueRun({ pipeline: PIPELINE, runId: runC, now: iso(120), ...queued(120) });
        // asking again (another request time) keeps the place taken first
        expect(
          await ledger.enqueueRun({ pipeline: PIPELINE, runId: runB, now: iso(130), ...queued(130, 600) }),
        ).toBe(1);
        expect(await ledger.listQueuedRuns(PIPELINE, iso(599))).toEqual([
          { runId: runB, requestedAt: iso(60) },
          { runId: runC, requestedAt: iso(120) },
        ]);
        // B's place expired (its run gave up or died): C is first
        expect(await queuedRunIds(600)).toEqual([runC]);
        await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runA });
        expect(await lock(runC, 4000, 700, { queue: queued(120) })).toEqual({ acquired: true });
      });

      it("takes a run out of the queue when it is released (a queued run that was cancelled)", async () => {
        await lock(runA, 3600, 0);
        await ledger.enqueueRun({ pipeline: PIPELINE, runId: runB, now: iso(60), ...queued(60) });
        await ledger.enqueueRun({ pipeline: PIPELINE, runId: runD, now: iso(180), ...queued(180) });
        await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runB });
        expect(await queuedRunIds(200)).toEqual([runD]);
        // the lock itself is still A's
        expect((await holder(200))?.runId).toBe(runA);
      });

      it("lets a run of a skip pipeline (no queue) take a free lock", async () => {
        expect(await lock(runIdAt(OTHER_PIPELINE, at(0)), 60, 0, { pipeline: OTHER_PIPELINE })).toEqual({
          acquired: true,
        });
      });
    });

    describe("facts stated twice", () => {
      it("keeps the first copy of a fact a retried task published again, with another id and time", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        await recordAll(events);
        const before = await ledger.getRun(runId);
        const succeeded = events.find((e) => e["detail-type"] === "StepSucceeded");
        if (succeeded?.["detail-type"] !== "StepSucceeded") throw new Error("fixture has no StepSucceeded");
        const copy = createEvent(
          "StepSucceeded",
          { ...succeeded.detail.data, rows: 999_999, endedAt: iso(3000) },
          {
            pipeline: PIPELINE,
            now: at(3000),
          },
        );
        await ledger.record(copy);
        expect(await ledger.listEvents(runId)).toHaveLength(events.length);
        expect(await ledger.getRun(runId)).toEqual(before);
      });

      it("keeps what the state machine stated over what the reconciler inferred, whatever their order", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        const inferred = [
          createEvent(
            "StepFailed",
            {
              runId,
              stage: "model",
              step: "email-model",
              tool: "dbt-cloud",
              reason: "aborted",
              error: "the run was aborted",
              endedAt: iso(5000),
              reconciled: true,
            },
            { pipeline: PIPELINE, now: at(5000) },
          ),
          createEvent(
            "PipelineRunFailed",
            {
              runId,
              endedAt: iso(5000),
              failedSteps: [],
              error: "aborted",
              reason: "aborted",
              reconciled: true,
            },
            { pipeline: PIPELINE, now: at(5000) },
          ),
        ];
        for (const order of [
          [...events, ...inferred],
          [...inferred, ...events],
        ]) {
          const fresh = await open();
          for (const event of order) await fresh.record(event);
          // the same record as without the inferred facts, but for the time of the newest event applied
          expect(await fresh.getRun(runId)).toEqual({
            ...successfulRecord(PIPELINE, at(0)),
            updatedAt: iso(5000),
          });
          expect(await fresh.listEvents(runId)).toHaveLength(events.length + inferred.length);
          await fresh.close();
        }
      });
    });

    describe("record and getRun", () => {
      it("projects a run's events into its record", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        await recordAll(events);
        expect(await ledger.getRun(runId)).toEqual(successfulRecord(PIPELINE, at(0)));
      });

      it("shows a run in flight: running, with the steps started so far in stage order", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        // RunStarted, both ingest steps started, salesforce succeeded
        await recordAll(events.slice(0, 4));
        const run = await ledger.getRun(runId);
        expect(run?.status).toBe("running");
        expect(run?.endedAt).toBeUndefined();
        expect(run?.stages).toEqual(STAGES);
        expect(run?.steps.map((s) => [s.step, s.status])).toEqual([
          ["zoom-webinar-registrants", "running"],
          ["salesforce-contacts", "succeeded"],
        ]);
        expect(run?.updatedAt).toBe(iso(60));
      });

      it("projects a failed run: its error, failed steps and the failed step's reason", async () => {
        const { runId, events } = failedRun(PIPELINE, at(0));
        await recordAll(events);
        const run = await ledger.getRun(runId);
        expect(run).toMatchObject({
          runId,
          pipeline: PIPELINE,
          status: "failed",
          trigger: { kind: "manual" },
          startedAt: iso(0),
          endedAt: iso(62),
          durationMs: 62_000,
          failedSteps: ["salesforce-contacts"],
          error: "salesforce-contacts: moved 0 rows, fewer than the 1 required",
          updatedAt: iso(62),
        });
        expect(run?.rows).toBeUndefined();
        expect(run?.steps).toEqual([
          expect.objectContaining({ step: "zoom-webinar-registrants", status: "succeeded", rows: 12 }),
          expect.objectContaining({
            step: "salesforce-contacts",
            status: "failed",
            reason: "min-rows",
            error: "moved 0 rows, fewer than the 1 required",
            toolStatus: "succeeded",
            rows: 0,
            externalId: "job-202",
          }),
        ]);
      });

      it("projects a skipped run: skipped, with the run that was still going and the trigger", async () => {
        const active = runIdAt(PIPELINE, at(0));
        const { runId, events } = skippedRun(PIPELINE, at(3600), active);
        await recordAll(events);
        expect(await ledger.getRun(runId)).toEqual({
          runId,
          pipeline: PIPELINE,
          status: "skipped",
          trigger: { kind: "schedule", scheduledTime: iso(3600) },
          activeRunId: active,
          steps: [],
          updatedAt: iso(3600),
        });
      });

      it("knows nothing of a run it has no events of", async () => {
        expect(await ledger.getRun(runIdAt(PIPELINE, at(0)))).toBeUndefined();
        expect(await ledger.listEvents(runIdAt(PIPELINE, at(0)))).toEqual([]);
      });

      it("is idempotent: the same event twice is one event and the same record", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        await recordAll(events);
        const once = await ledger.getRun(runId);
        const [first, , third] = events;
        if (!first || !third) throw new Error("fixture too short");
        await ledger.record(first);
        await ledger.record(third);
        await recordAll(events);
        expect(await ledger.getRun(runId)).toEqual(once);
        expect(await ledger.listEvents(runId)).toHaveLength(events.length);
      });

      it("tolerates out-of-order delivery: a step's end before its start, the run's end before its start", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        const reversed = [...events].reverse();
        await recordAll(reversed.slice(0, 2)); // RunSucceeded, then mailchimp's StepSucceeded
        const early = await ledger.getRun(runId);
        expect(early?.status).toBe("succeeded");
        expect(early?.trigger).toBeUndefined();
        expect(early?.steps).toEqual([
          expect.objectContaining({ step: "mailchimp-audience", status: "succeeded" }),
        ]);

        await recordAll(reversed.slice(2));
        expect(await ledger.getRun(runId)).toEqual(successfulRecord(PIPELINE, at(0)));
      });

      it("gives the same record whatever the delivery order", async () => {
        const random = seededRandom(20260301);
        const starts = [at(0), at(3600), at(7200), at(10800)];
        for (const start of starts) await recordAll(shuffled(successfulRun(PIPELINE, start).events, random));
        for (const start of starts) {
          expect(await ledger.getRun(runIdAt(PIPELINE, start))).toEqual(successfulRecord(PIPELINE, start));
        }
        const failed = failedRun(OTHER_PIPELINE, at(0));
        await recordAll(shuffled(failed.events, random));
        expect(await ledger.getRun(failed.runId)).toEqual(projectRun(failed.events));
      });

      it("never lets a late start regress a finished step or run", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        const [runStarted, zoomStarted] = events;
        if (!runStarted || !zoomStarted) throw new Error("fixture too short");
        await recordAll(events.filter((e) => e !== runStarted && e !== zoomStarted));
        const zoomWithoutStart = (await ledger.getRun(runId))?.steps.find(
          (s) => s.step === "zoom-webinar-registrants",
        );
        expect(zoomWithoutStart?.status).toBe("succeeded");
        expect(zoomWithoutStart?.attached).toBeUndefined();

        await ledger.record(zoomStarted);
        await ledger.record(runStarted);
        const run = await ledger.getRun(runId);
        expect(run?.status).toBe("succeeded");
        expect(run?.steps.find((s) => s.step === "zoom-webinar-registrants")).toMatchObject({
          status: "succeeded",
          attached: false, // filled by the late StepStarted
          endedAt: iso(90),
        });
        expect(run).toEqual(successfulRecord(PIPELINE, at(0)));
      });

      it("rejects an event that is not in the catalog, and stores nothing of it", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        const [first] = events;
        if (!first) throw new Error("fixture too short");
        const broken = {
          ...first,
          detail: { ...first.detail, data: { ...first.detail.data, trigger: "cron" } },
        };
        await expect(ledger.record(broken as unknown as TapestryEvent)).rejects.toThrow();
        expect(await ledger.getRun(runId)).toBeUndefined();
        expect(await ledger.listEvents(runId)).toEqual([]);
      });
    });

    describe("listEvents", () => {
      it("lists a run's events in the order they occurred (then by id), whatever the delivery order", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        const other = successfulRun(PIPELINE, at(3600));
        await recordAll(shuffled([...events, ...other.events], seededRandom(7)));
        expect(await ledger.listEvents(runId)).toEqual(events);
        expect(await ledger.listEvents(other.runId)).toEqual(other.events);
      });
    });

    describe("listRuns", () => {
      /** 7 runs of PIPELINE an hour apart (two of them starting in the same millisecond), interleaved with another pipeline's */
      const seed = async (): Promise<string[]> => {
        const starts = [0, 3600, 7200, 7200, 10800, 14400, 18000];
        const ids: { runId: string; start: number }[] = [];
        for (const [i, seconds] of starts.entries()) {
          // a same-time pair needs distinct run ids: a manual run id for the second
          const start = at(seconds);
          if (i === 3) {
            const runId = `${PIPELINE}-m01JNKZ8W3F8Q2T6V0X4Y5Z7A9B`;
            await ledger.record(
              createEvent(
                "PipelineRunStarted",
                { runId, trigger: { kind: "manual" }, stages: STAGES },
                {
                  pipeline: PIPELINE,
                  now: start,
                },
              ),
            );
            ids.push({ runId, start: seconds });
          } else {
            const { runId, events } =
              i % 2 === 0 ? successfulRun(PIPELINE, start) : failedRun(PIPELINE, start);
            await recordAll(shuffled(events, seededRandom(i)));
            ids.push({ runId, start: seconds });
          }
          await recordAll(successfulRun(OTHER_PIPELINE, at(seconds + 60)).events);
        }
        return ids
          .sort((a, b) => b.start - a.start || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0))
          .map((r) => r.runId);
      };

      it("pages newest first, with no duplicates and no gaps, and no cursor after the last page", async () => {
        const expected = await seed();
        for (const limit of [1, 2, 3, 7, 50]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await ledger.listRuns(
              PIPELINE,
              cursor === undefined ? { limit } : { limit, cursor },
            );
            pages += 1;
            expect(page.runs.length).toBeLessThanOrEqual(limit);
            expect(page.runs.every((r) => r.pipeline === PIPELINE)).toBe(true);
            seen.push(...page.runs.map((r) => r.runId));
            cursor = page.nextCursor;
            if (cursor !== undefined) expect(page.runs).toHaveLength(limit);
          } while (cursor !== undefined && pages < 20);
          expect(seen).toEqual(expected);
          expect(pages).toBe(Math.ceil(expected.length / limit));
        }
      });

      it("answers the full records", async () => {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        await recordAll(events);
        const page = await ledger.listRuns(PIPELINE, { limit: 10 });
        expect(page).toEqual({ runs: [successfulRecord(PIPELINE, at(0))] });
        expect(page.runs[0]?.runId).toBe(runId);
      });

      it("orders runs by their earliest event, even when it arrived last", async () => {
        const older = successfulRun(PIPELINE, at(0));
        const newer = successfulRun(PIPELINE, at(100));
        // the older run's start arrives after everything of the newer run: its end (201 s) is later than the newer's start
        await recordAll([...older.events].reverse().slice(0, 1));
        await recordAll(newer.events);
        await recordAll([...older.events].reverse().slice(1));
        const page = await ledger.listRuns(PIPELINE, { limit: 10 });
        expect(page.runs.map((r) => r.runId)).toEqual([newer.runId, older.runId]);
      });

      it("lists nothing for a pipeline without runs", async () => {
        await recordAll(successfulRun(OTHER_PIPELINE, at(0)).events);
        expect(await ledger.listRuns(PIPELINE, { limit: 10 })).toEqual({ runs: [] });
      });

      it("lists skipped runs with the others", async () => {
        const active = successfulRun(PIPELINE, at(0));
        const skipped = skippedRun(PIPELINE, at(60), active.runId);
        await recordAll([...active.events, ...skipped.events]);
        const page = await ledger.listRuns(PIPELINE, { limit: 10 });
        expect(page.runs.map((r) => [r.runId, r.status])).toEqual([
          [skipped.runId, "skipped"],
          [active.runId, "succeeded"],
        ]);
      });

      it("rejects a cursor it did not hand out with InvalidCursorError", async () => {
        await seed();
        const page = await ledger.listRuns(PIPELINE, { limit: 2 });
        const cursor = page.nextCursor;
        if (cursor === undefined) throw new Error("expected a second page");
        const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
        const bad = [
          "",
          "not a cursor!",
          `${cursor}~`,
          Buffer.from("{not json").toString("base64url"),
          json({ hello: "world" }),
          json([1, 2, 3]),
          cursor.slice(0, -4),
        ];
        for (const candidate of bad) {
          const attempt = ledger.listRuns(PIPELINE, { limit: 2, cursor: candidate });
          await expect(attempt, `cursor ${JSON.stringify(candidate)}`).rejects.toBeInstanceOf(
            InvalidCursorError,
          );
          await expect(attempt).rejects.toMatchObject({ name: "InvalidCursorError" });
        }
        // a cursor of one pipeline's listing is not valid in another's
        await expect(ledger.listRuns(OTHER_PIPELINE, { limit: 2, cursor })).rejects.toBeInstanceOf(
          InvalidCursorError,
        );
      });

      it("rejects a page limit below 1", async () => {
        await expect(ledger.listRuns(PIPELINE, { limit: 0 })).rejects.toBeInstanceOf(LedgerInputError);
        await expect(ledger.listRuns(PIPELINE, { limit: 1.5 })).rejects.toBeInstanceOf(LedgerInputError);
      });
    });

    describe("latestRuns", () => {
      it("answers the newest run of each pipeline that has one", async () => {
        const first = successfulRun(PIPELINE, at(0));
        const second = failedRun(PIPELINE, at(3600));
        const skipped = skippedRun(OTHER_PIPELINE, at(1800), "someone-else");
        await recordAll([...second.events, ...skipped.events, ...first.events]);

        const latest = await ledger.latestRuns([PIPELINE, OTHER_PIPELINE, "never-ran", PIPELINE]);
        expect([...latest.keys()].sort()).toEqual([OTHER_PIPELINE, PIPELINE].sort());
        expect(latest.get(PIPELINE)).toEqual(projectRun(second.events));
        expect(latest.get(OTHER_PIPELINE)?.status).toBe("skipped");
        expect(latest.has("never-ran")).toBe(false);
        expect((await ledger.latestRuns([])).size).toBe(0);
      });
    });
  });
}
