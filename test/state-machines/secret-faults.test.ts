import { SecretNotSetError, SecretReadError, SecretUnavailableError } from "@tapestry/core";
import { ConnectorRegistry } from "@tapestry/core/connectors";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Plane, startPlane } from "./harness";

/**
 * A tool's secret that cannot be read, on aws-local-stepfunctions with the real ASL, handlers,
 * ledger and sandboxes. The connector registry reads a tool's secrets when a step first calls the
 * tool, so its calls fail with the secret reader's error (test/unit/ssm-secrets.test.ts: which SSM
 * failure becomes which error); what the state machine does with each name is what is tested here.
 */

const planes: Plane[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(planes.splice(0).map((p) => p.stop()));
});

async function runOnce() {
  const p = await startPlane();
  planes.push(p);
  const started = await p.startRun("rain-shield-audience", { kind: "manual" });
  await started.execution?.outcome;
  await p.idle();
  const triggers = p.sandboxes.airbyte.traffic.filter((t) => t.operation === "createJob").length;
  return { run: await p.ledger.getRun(started.runId), triggers };
}

/** The kickstart's first stage: two Airbyte syncs, started side by side. */
const INGEST_STEPS = 2;

describe("a tool's secret that cannot be read when a step starts", () => {
  it("for now (SSM throttled the read): StartStep is retried, the step triggers once and the run succeeds", async () => {
    const start = vi
      .spyOn(ConnectorRegistry.prototype, "start")
      .mockRejectedValueOnce(
        new SecretUnavailableError("SANDBOX_AIRBYTE_CLIENT_ID", "SSM: ThrottlingException: Rate exceeded"),
      );

    const { run, triggers } = await runOnce();

    expect(run?.status).toBe("succeeded");
    // one refused start, retried, and then every step of the pipeline started once
    expect(start.mock.calls.length).toBe((run?.steps.length ?? 0) + 1);
    expect(triggers).toBe(INGEST_STEPS);
  });

  it.each([
    ["is not set (SecretNotSetError)", new SecretNotSetError("SANDBOX_AIRBYTE_CLIENT_ID", "prod")],
    [
      "is refused (SecretReadError: access denied)",
      new SecretReadError("SANDBOX_AIRBYTE_CLIENT_ID", "could not read secret: AccessDeniedException"),
    ],
  ])("that %s: no retry, the step fails naming the error, no job is started", async (_, error) => {
    const start = vi.spyOn(ConnectorRegistry.prototype, "start").mockRejectedValue(error);

    const { run, triggers } = await runOnce();

    expect(run?.status).toBe("failed");
    expect(start).toHaveBeenCalledTimes(INGEST_STEPS);
    for (const step of run?.steps ?? []) {
      expect(step).toMatchObject({
        status: "failed",
        reason: "error",
        error: expect.stringContaining(error.name),
      });
    }
    expect(triggers).toBe(0);
  });
});
