import { evaluateRunEnd, RunNotRecordedError } from "@tapestry/core/alerts";
import { parseConfig } from "@tapestry/core/config";
import { createEvent, type TapestryEvent } from "@tapestry/core/events";
import { silentLogger } from "@tapestry/core/logging";
import { reconcileInputOf, reconcileRun } from "@tapestry/core/pipeline";
import { describe, expect, it } from "vitest";
import { SqliteAlertStore, SqliteRunLedger } from "../../packages/local/src/ledger";
import kickstart from "../../tapestry.config";
import { failedRun, PIPELINE, STAGES, stepEvents, successfulRun } from "../ledger/run-events";

/**
 * The alert evaluator takes a run's end at the same time as the projector: a step's event may not
 * be in the ledger yet. It waits for the events its verdicts need, and no longer.
 */

const CONFIG = parseConfig({
  ...structuredClone(kickstart),
  pipelines: [{ ...structuredClone(kickstart).pipelines[0], name: PIPELINE }],
});

function harness() {
  const ledger = SqliteRunLedger.open(":memory:");
  const store = SqliteAlertStore.open(":memory:");
  const published: TapestryEvent[] = [];
  let clock = Date.parse("2026-03-01T07:00:00.000Z");
  const waits: number[] = [];
  return {
    ledger,
    store,
    published,
    waits,
    deps: {
      config: CONFIG,
      ledger,
      store,
      publisher: { publish: async (events: readonly TapestryEvent[]) => void published.push(...events) },
      now: () => new Date(clock),
      anomaly: "history" as const,
      recordWaitMs: 10_000,
      sleep: async (ms: number) => {
        waits.push(ms);
        clock += ms;
      },
    },
    close() {
      ledger.close();
      store.close();
    },
  };
}

describe("evaluateRunEnd", () => {
  it("waits for a failed step's own event (its reason decides the rule), then judges", async () => {
    const h = harness();
    try {
      const { events } = failedRun(PIPELINE, new Date("2026-03-01T06:00:00.000Z"));
      const end = events.at(-1) as TapestryEvent;
      const stepFailed = events.find((e) => e["detail-type"] === "StepFailed") as TapestryEvent;
      for (const event of events.filter((e) => e !== end && e !== stepFailed)) await h.ledger.record(event);
      // the step's event reaches the ledger while the evaluator waits
      const deps = {
        ...h.deps,
        sleep: async (ms: number) => {
          await h.deps.sleep(ms);
          if (h.waits.length === 2) await h.ledger.record(stepFailed);
        },
      };
      const opened = await evaluateRunEnd(end, deps);
      expect(h.waits).toHaveLength(2);
      expect(opened.map((e) => [e["detail-type"], e.detail.data.rule, e.detail.data.step])).toEqual([
        ["ThresholdBreached", "rows-below-minimum", "salesforce-contacts"],
      ]);
      expect(h.published).toEqual(opened);
    } finally {
      h.close();
    }
  });

  it("fails with RunNotRecordedError, opening nothing, when the event never comes within its wait", async () => {
    const h = harness();
    try {
      const { events } = failedRun(PIPELINE, new Date("2026-03-01T06:00:00.000Z"));
      const end = events.at(-1) as TapestryEvent;
      for (const event of events.filter((e) => e !== end && e["detail-type"] !== "StepFailed")) {
        await h.ledger.record(event);
      }
      await expect(evaluateRunEnd(end, h.deps)).rejects.toThrow(RunNotRecordedError);
      await expect(evaluateRunEnd(end, h.deps)).rejects.toThrow(/salesforce-contacts/);
      expect(h.waits.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(2 * 10_000);
      expect(h.published).toEqual([]);
      expect(await h.store.openIncidents()).toEqual([]);
    } finally {
      h.close();
    }
  });

  it("does not wait for what no rule reads: a success is judged without its plan or its unwatched steps", async () => {
    const h = harness();
    try {
      const { events } = successfulRun(PIPELINE, new Date("2026-03-01T06:00:00.000Z"));
      const end = events.at(-1) as TapestryEvent;
      // no PipelineRunStarted and no dbt step: neither has a threshold of its own
      for (const event of events.filter(
        (e) =>
          e !== end &&
          e["detail-type"] !== "PipelineRunStarted" &&
          !JSON.stringify(e).includes('"email-model"'),
      )) {
        await h.ledger.record(event);
      }
      expect(await evaluateRunEnd(end, h.deps)).toEqual([]);
      expect(h.waits).toEqual([]);
    } finally {
      h.close();
    }
  });

  it("judges nothing for an event that is no run's end, or a pipeline no longer configured", async () => {
    const h = harness();
    try {
      const { events } = successfulRun("gone-pipeline", new Date("2026-03-01T06:00:00.000Z"));
      expect(await evaluateRunEnd(events[0] as TapestryEvent, h.deps)).toEqual([]);
      expect(await evaluateRunEnd(events.at(-1) as TapestryEvent, h.deps)).toEqual([]);
      expect(h.waits).toEqual([]);
    } finally {
      h.close();
    }
  });

  it("judges a run the reconciler ended (its failure unpublished): one breach, without waiting for a step that ended by itself", async () => {
    const h = harness();
    try {
      // The bus refused the run's last events: salesforce's job succeeded but neither its
      // StepSucceeded nor the run's PipelineRunFailed was published; the execution ended
      // PipelineRunOutcomeUnpublished, and the reconciler states the outcome.
      const start = Date.parse("2026-03-01T06:00:00.000Z");
      const runId = `${PIPELINE}-20260301T060000Z`;
      const step = (name: string, externalId: string) =>
        stepEvents(PIPELINE, runId, start, { stage: "ingest", step: name, tool: "airbyte", externalId });
      const zoom = step("zoom-webinar-registrants", "job-301");
      const salesforce = step("salesforce-contacts", "job-302");
      for (const event of [
        createEvent(
          "PipelineRunStarted",
          { runId, trigger: { kind: "manual" }, stages: STAGES },
          { pipeline: PIPELINE, now: new Date(start) },
        ),
        zoom.started(1, 3601),
        salesforce.started(1, 3601),
        zoom.succeeded(1, 40, { toolStatus: "succeeded", rows: 12 }),
      ]) {
        await h.ledger.record(event);
      }
      const stated: TapestryEvent[] = [];
      await reconcileRun(
        reconcileInputOf({
          runId,
          status: "FAILED",
          error: "PipelineRunOutcomeUnpublished",
          cause: "the run failed and its PipelineRunFailed could not be published",
        }),
        {
          ledger: h.ledger,
          publisher: {
            publish: async (events) => {
              stated.push(...events);
              for (const event of events) await h.ledger.record(event);
            },
          },
          connectors: { cancel: async () => ({ state: "succeeded", toolStatus: "succeeded", rows: 1_204 }) },
          pipeline: (name) => CONFIG.pipelines.find((p) => p.name === name),
          now: () => new Date(start + 300_000),
          logger: silentLogger,
        },
      );
      const end = stated.find((e) => e["detail-type"] === "PipelineRunFailed") as TapestryEvent;
      expect(end.detail.data).toMatchObject({ failedSteps: ["salesforce-contacts"], reconciled: true });

      const opened = await evaluateRunEnd(end, h.deps);
      expect(h.waits).toEqual([]);
      expect(opened).toHaveLength(1);
      expect(opened[0]?.detail.data).toMatchObject({ rule: "run-failed", figure: 1, threshold: 0, runId });
      const { summary, error } = (opened[0]?.detail.data ?? {}) as { summary?: string; error?: string };
      expect(summary).toContain("could not publish");
      expect(error).toContain("PipelineRunOutcomeUnpublished");
    } finally {
      h.close();
    }
  });
});
