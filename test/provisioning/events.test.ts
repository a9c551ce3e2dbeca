import { EVENT_SOURCE, PROVISIONING_EVENT_SOURCE, parseEvent } from "@tapestry/core/events";
import { projectRun } from "@tapestry/core/ledger";
import { formatEvent } from "@tapestry/local";
import { describe, expect, it } from "vitest";
import { PIPELINE, successfulRun, T0 } from "../ledger/run-events";
import { provisioningRunEvents } from "./provisioning-events";

const events = provisioningRunEvents(new Date("2026-03-01T06:00:00.000Z"));

describe("provisioning events", () => {
  it("are published under tapestry.provisioning, name no pipeline, and correlate by the provisioning run", () => {
    for (const event of events) {
      expect(event.source).toBe(PROVISIONING_EVENT_SOURCE);
      expect(event.detail.metadata.pipeline).toBeUndefined();
      expect(event.detail.metadata.correlationId).toBe(event.detail.data.runId);
      expect(parseEvent(JSON.parse(JSON.stringify(event)))).toEqual(event);
    }
    expect(successfulRun(PIPELINE, new Date(T0)).events[0]?.source).toBe(EVENT_SOURCE);
  });

  it("refuse a provisioning event carried under the pipeline source", () => {
    const [started] = events;
    expect(() => parseEvent({ ...started, source: EVENT_SOURCE })).toThrow(/tapestry.provisioning/);
  });

  it("are never projected into the run ledger", () => {
    expect(() => projectRun([...successfulRun(PIPELINE, new Date(T0)).events, ...events])).toThrow(
      /not an event of a pipeline run: the run ledger records source tapestry.pipeline only/,
    );
  });

  it("print as tapestry local's provisioning lines: each object, what was done, the failed step", () => {
    const lines = events.map((event) => formatEvent(event, { color: false }));
    expect(lines).toEqual([
      "06:00:00 provision ▶ provision-01M7YX2KPAGR0A6P46956VKQW9 started (api)",
      "06:00:05 provision   ✓ warehouse rainshield-analytics: 31 statements applied, 0 already applied",
      "06:00:06 provision   ✓ airbyte source zoom updated (account_id, secrets)",
      "06:00:09 provision ✔ provision-01M7YX2KPAGR0A6P46956VKQW9 succeeded: 0 created, 1 updated, 4 unchanged in 9.0 s",
      "06:00:20 provision ✘ provision-01M7YX2KPAGR0A6P46956VKQWA failed at bootstrap-warehouse: statement 7 (1.07) failed: 003001 Insufficient privileges",
    ]);
  });
});
