import { describe, expect, it } from "vitest";
import { connectorMatrixBeforeAll } from "../connectors/matrix";
import { assertTrafficConforms, validateRequest } from "./openapi-contract";

const results = connectorMatrixBeforeAll();

/**
 * The connectors drive the sandboxes through every scripted scenario; every exchange is then
 * checked against the official specs: each request the connectors sent, and each answer the
 * sandboxes gave (fault injections included: undocumented statuses must be on the allow-list).
 */
describe("connector traffic against the official API specs", () => {
  it("exercised every operation we rely on", () => {
    const operations = new Set(results.flatMap((r) => r.traffic.map((t) => `${t.tool} ${t.operation}`)));
    expect([...operations].sort()).toEqual(
      [
        "airbyte cancelJob",
        "airbyte createAccessToken",
        "airbyte createJob",
        "airbyte getJob",
        "airbyte listJobs",
        "dbt-cloud cancelRun",
        "dbt-cloud getRun",
        "dbt-cloud getRunArtifact",
        "dbt-cloud listRuns",
        "dbt-cloud triggerRun",
        "grouparoo getRun",
        "grouparoo listScheduleRuns",
        "grouparoo runSchedule",
        "grouparoo stopRun",
      ].sort(),
    );
  });

  it("every request and every answer conforms", () => {
    const onSpec = results.filter((r) => !r.offSpec).flatMap((r) => r.traffic);
    expect(onSpec.length).toBeGreaterThan(200);
    assertTrafficConforms(onSpec);
  });

  it("requests conform even where the sandbox answers off-spec on purpose (unknown statuses)", () => {
    const offSpec = results.filter((r) => r.offSpec).flatMap((r) => r.traffic);
    expect(offSpec.length).toBeGreaterThan(0);
    expect(offSpec.flatMap(validateRequest)).toEqual([]);
  });
});
