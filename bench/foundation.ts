import { randomUUID } from "node:crypto";
import {
  type AirbyteStep,
  createAirbyteConnector,
  parseConfig,
  type TapestryConfigInput,
} from "@tapestry/core";
import { startAirbyteSandbox } from "@tapestry/local/sandboxes";
import kickstart from "../tapestry.config";
import { ms, percentile, timeEach } from "./stats";

/** A config of `n` pipelines shaped like the kickstart one. */
export function manyPipelines(n: number): TapestryConfigInput {
  const [template] = kickstart.pipelines;
  if (!template) throw new Error("the kickstart config has no pipeline");
  return {
    ...kickstart,
    pipelines: Array.from({ length: n }, (_, i) => ({ ...structuredClone(template), name: `pipeline-${i}` })),
  };
}

export async function benchConfig(): Promise<string[]> {
  const big = manyPipelines(200);
  parseConfig(kickstart);
  parseConfig(big);
  const small = await timeEach(500, () => parseConfig(kickstart));
  const large = await timeEach(30, () => parseConfig(big));
  return [
    `config parse, kickstart (1 pipeline, 4 steps): median ${ms(percentile(small, 50))}, p95 ${ms(percentile(small, 95))}`,
    `config parse, 200 pipelines (800 steps): median ${ms(percentile(large, 50))}, p95 ${ms(percentile(large, 95))}`,
  ];
}

/**
 * The connector's cost over a bare fetch: polls and triggers against the Airbyte sandbox on
 * loopback, through the full client (auth header, timeout, JSON parsing, zod, status mapping).
 */
export async function benchConnector(): Promise<string[]> {
  const sandbox = await startAirbyteSandbox({});
  try {
    const connector = await createAirbyteConnector(
      {
        baseUrl: sandbox.baseUrl,
        requestTimeoutSeconds: 30,
        auth: { kind: "none" },
        webhook: { urlSecret: "AIRBYTE_WEBHOOK_SECRET" },
      },
      { secrets: async () => "" },
    );
    const step: AirbyteStep = {
      name: "bench",
      tool: "airbyte",
      connectionId: randomUUID(),
      completion: "poll",
      fallbackPollSeconds: 300,
      timeoutMinutes: 60,
      pollIntervalSeconds: 30,
    };
    // A Lambda's budget for each call, as the task handlers give it.
    const call = () => ({ deadline: Date.now() + 110_000 });
    const started = await connector.start(step, { pipeline: "bench", runId: "bench", ...call() });
    const url = `${sandbox.baseUrl}/jobs/${started.externalId}`;
    await timeEach(50, () => connector.poll(step, started.externalId, call()));
    await timeEach(50, () => fetch(url).then((r) => r.json()));

    const viaConnector = await timeEach(1000, () => connector.poll(step, started.externalId, call()));
    const bare = await timeEach(1000, () => fetch(url).then((r) => r.json()));
    const triggers = await timeEach(200, () =>
      connector.start(
        { ...step, connectionId: randomUUID() },
        { pipeline: "bench", runId: "bench", ...call() },
      ),
    );
    const p50 = percentile(viaConnector, 50);
    const bareP50 = percentile(bare, 50);
    return [
      `airbyte poll via connector (1000 calls, loopback): median ${ms(p50)}, p95 ${ms(percentile(viaConnector, 95))}`,
      `bare fetch of the same endpoint (1000 calls):      median ${ms(bareP50)}, p95 ${ms(percentile(bare, 95))}`,
      `connector / bare fetch, median: ${(p50 / bareP50).toFixed(2)}x`,
      `airbyte start (trigger) via connector (200 calls): median ${ms(percentile(triggers, 50))}, p95 ${ms(percentile(triggers, 95))}`,
    ];
  } finally {
    await sandbox.close();
  }
}
