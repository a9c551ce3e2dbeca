/**
 * The kickstart's steps name their Airbyte connections (`connection`), whose ids provisioning
 * records. Tests that drive the pipeline without provisioning (a tool they start themselves, a
 * state machine on its own) give those names the fixed ids below, as provisioning would have.
 */
import type { TapestryConfig } from "@tapestry/core/config";

export const KICKSTART_CONNECTION_IDS: Readonly<Record<string, string>> = {
  "zoom-webinar-registrants": "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11",
  "salesforce-contacts": "c2a91e7b-3f64-4d8a-8e21-6a9d0b7f4c32",
};

/** A connection id resolver over KICKSTART_CONNECTION_IDS (ConnectorDependencies.connectionIds). */
export async function kickstartConnectionId(name: string): Promise<string> {
  const id = KICKSTART_CONNECTION_IDS[name];
  if (id === undefined) throw new Error(`the kickstart has no connection named ${name}`);
  return id;
}

/** The pipelines with each named connection replaced by its id: a config that needs no provisioning. */
export function pipelinesWithConnectionIds(
  pipelines: TapestryConfig["pipelines"],
): TapestryConfig["pipelines"] {
  return pipelines.map((pipeline) => ({
    ...pipeline,
    stages: pipeline.stages.map((stage) => ({
      ...stage,
      steps: stage.steps.map((step) => {
        if (step.tool !== "airbyte" || step.connection === undefined) return step;
        const { connection, ...rest } = step;
        return { ...rest, connectionId: KICKSTART_CONNECTION_IDS[connection] ?? "" };
      }),
    })),
  }));
}
