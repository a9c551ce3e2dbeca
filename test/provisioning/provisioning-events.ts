import { createEvent, type ProvisioningEvent } from "@tapestry/core/events";

/** A provisioning run's id: `provision-<ULID>`. */
export const PROVISIONING_RUN_ID = "provision-01M7YX2KPAGR0A6P46956VKQW9";

/** One provisioning run that succeeded and one that failed at its warehouse bootstrap: every provisioning event. */
export function provisioningRunEvents(base: Date): ProvisioningEvent[] {
  const at = (seconds: number) => new Date(base.getTime() + seconds * 1000);
  const runId = PROVISIONING_RUN_ID;
  const failedRunId = "provision-01M7YX2KPAGR0A6P46956VKQWA";
  return [
    createEvent(
      "ProvisioningStarted",
      { runId, trigger: "api", steps: ["validate", "ensure-airbyte"] },
      { now: at(0) },
    ),
    createEvent(
      "WarehouseBootstrapped",
      {
        runId,
        account: "rainshield-analytics",
        applied: 31,
        skipped: 0,
        keys: [{ tool: "airbyte", state: "generated", fingerprint: "SHA256:abc=" }],
      },
      { now: at(5) },
    ),
    createEvent(
      "ToolConfigured",
      {
        runId,
        tool: "airbyte",
        kind: "source",
        name: "zoom",
        id: "0c31738c-0b2d-4887-b506-e2cd1c39cc35",
        action: "updated",
        changes: ["account_id", "secrets"],
      },
      { now: at(6) },
    ),
    createEvent(
      "ProvisioningSucceeded",
      {
        runId,
        startedAt: at(0).toISOString(),
        endedAt: at(9).toISOString(),
        durationMs: 9000,
        objects: { created: 0, updated: 1, unchanged: 4, deleted: 0 },
      },
      { now: at(9) },
    ),
    createEvent(
      "ProvisioningFailed",
      {
        runId: failedRunId,
        step: "bootstrap-warehouse",
        errorName: "WarehouseBootstrapError",
        error: "statement 7 (1.07) failed: 003001 Insufficient privileges",
        statement: { number: 7, version: "1.07", summary: "create the loader role" },
        endedAt: at(20).toISOString(),
      },
      { now: at(20) },
    ),
  ];
}
