import { describe, expect, it } from "vitest";
import { ALL_CANARIES, CANARY } from "./harness";
import { connectorMatrixBeforeAll } from "./matrix";

const results = connectorMatrixBeforeAll();

describe("credentials never leak", () => {
  it("covers every scenario of every tool", () => {
    expect(results.length).toBeGreaterThanOrEqual(3 * 12 + 15);
    expect(new Set(results.map((r) => r.tool))).toEqual(new Set(["airbyte", "dbt-cloud", "grouparoo"]));
  });

  it("the canary credentials really were sent (so the check below means something)", () => {
    const sent = results.flatMap((r) => r.traffic).map((t) => JSON.stringify(t.request));
    for (const canary of [CANARY.airbyteClientSecret, CANARY.dbtToken, CANARY.grouparooKey]) {
      expect(sent.some((request) => request.includes(canary))).toBe(true);
    }
  });

  it("no canary appears in any thrown error, log line or returned value, in any scenario", () => {
    const leaks = results.flatMap((r) =>
      r.visible
        .filter((text) => ALL_CANARIES.some((canary) => text.includes(canary)))
        .map((text) => `${r.tool} / ${r.name}: ${text.slice(0, 200)}`),
    );
    expect(leaks).toEqual([]);
    // errors were produced and inspected, not just successes
    expect(results.some((r) => r.visible.some((text) => text.includes("ToolAuthError")))).toBe(true);
    expect(
      results.some((r) =>
        r.visible.some((text) => text.includes("ToolUnavailableError") || text.includes("retrying")),
      ),
    ).toBe(true);
  });
});
