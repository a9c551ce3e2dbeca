/**
 * The dependencies of a pipeline task function, from the adapters its entry wires. A task that
 * is not given an adapter does not bundle it; if its code path ever reaches one, the invocation
 * fails with an EnvironmentError naming the entry and the adapter, never silently.
 */
import type { PipelineDeps } from "@tapestry/core/pipeline";
import { DEFAULT_PIPELINE_SETTINGS } from "@tapestry/core/pipeline";
import type { PipelineHandlerDeps } from "../../pipeline/task-handler";
import { coreLogger } from "../../powertools";
import { EnvironmentError } from "./environment";
import { logger, metrics } from "./powertools";

export interface PipelineTaskWiring {
  readonly connectors?: PipelineDeps["connectors"];
  readonly publisher?: PipelineDeps["publisher"];
  readonly ledger?: PipelineDeps["ledger"];
}

export function pipelineTaskDeps(entry: string, wiring: PipelineTaskWiring): PipelineHandlerDeps {
  return {
    core: {
      connectors: wiring.connectors ?? notWired(entry, "connectors", ["start", "poll", "cancel"]),
      publisher: wiring.publisher ?? notWired(entry, "publisher", ["publish"]),
      ledger: wiring.ledger ?? notWired(entry, "ledger", ["acquireRunLock", "getRun", "releaseRunLock"]),
      now: () => new Date(),
      logger: coreLogger(logger()),
      settings: DEFAULT_PIPELINE_SETTINGS,
    },
    logger: logger(),
    metrics: metrics(),
  };
}

function notWired<K extends string>(
  entry: string,
  adapter: string,
  methods: readonly K[],
): Record<K, () => Promise<never>> {
  const fail = async (): Promise<never> => {
    throw new EnvironmentError(
      `functions/aws/${entry}.ts does not wire the ${adapter}, which this task reached: pass it to pipelineTaskDeps in that entry`,
    );
  };
  return Object.fromEntries(methods.map((method) => [method, fail])) as Record<K, () => Promise<never>>;
}
