/**
 * The tapestry config, for the functions that read it (start/poll/cancel-step, await-webhook,
 * webhook-receiver and reconcile-run its tools, reconcile-run its pipelines and `reconcile` too,
 * status-api its pipelines, evaluate-alerts and check-freshness its pipelines and `alerts`,
 * notify-slack `alerts.slack`). It is not in the environment (Lambda's 4 KB limit): the stacks
 * inline its JSON at bundle time as the global identifier __TAPESTRY_CONFIG__ (esbuild `define`,
 * stacks/bundling.ts). Importing this module bundles the config schema: a function that never
 * reads the config must not import it.
 */
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { EnvironmentError, once } from "./environment";

/** The tapestry config's JSON text, inlined by esbuild `define` at bundle time (tests set it on globalThis). */
declare const __TAPESTRY_CONFIG__: string | undefined;

/** The validated tapestry config the stacks bundled in; parsed on first use. */
export const tapestryConfig = once((): TapestryConfig => {
  if (typeof __TAPESTRY_CONFIG__ !== "string") {
    throw new EnvironmentError(
      "the tapestry config was not bundled into this function: its stack must build it with esbuild `define: { __TAPESTRY_CONFIG__: JSON.stringify(JSON.stringify(config)) }`",
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(__TAPESTRY_CONFIG__);
  } catch (error) {
    throw new EnvironmentError("the bundled tapestry config (__TAPESTRY_CONFIG__) is not JSON", {
      cause: error,
    });
  }
  // checked against the clock at deploy time: a schedule that has ended since must not stop the steps
  return parseConfig(json, "the bundled tapestry config (__TAPESTRY_CONFIG__)", {
    judgeSchedulesAgainstClock: false,
  });
});
