import type { Logger } from "@aws-lambda-powertools/logger";
import {
  type BootstrapDeps,
  beginProvisioning,
  bootstrapWarehouse,
  type EnsureAirbyteTaskDeps,
  ensureAirbyte,
  failProvisioning,
  failProvisioningInputSchema,
  finishProvisioning,
  type GrouparooTaskDeps,
  type ProvisioningDeps,
  provisionInputSchema,
  writeGrouparooConfigTask,
} from "@tapestry/core/provisioning";
import * as z from "zod";
import { provisionTaskHandler } from "./task-handler";

/**
 * The provision state machine's task handlers, as factories over their dependencies (AWS:
 * functions/aws/runtime.ts; embedded: packages/local's provisioning wiring).
 */

const provisioningRunInputSchema = z.discriminatedUnion("action", [
  provisionInputSchema.extend({ action: z.literal("begin") }),
  provisionInputSchema.extend({ action: z.literal("finish") }),
  failProvisioningInputSchema.extend({ action: z.literal("fail") }),
]);

/** Tasks BeginProvisioning, RecordOutputs and PublishProvisioningFailed: the run's lock, start and end. */
export const createProvisioningRunHandler = (deps: ProvisioningDeps, logger: Logger) =>
  provisionTaskHandler(provisioningRunInputSchema, logger, async (input) => {
    switch (input.action) {
      case "begin":
        return beginProvisioning(input, deps);
      case "finish":
        return finishProvisioning(input, deps);
      case "fail":
        await failProvisioning(input, deps);
        return null;
    }
  });

/** Task BootstrapWarehouse. */
export const createBootstrapWarehouseHandler = (deps: BootstrapDeps, logger: Logger) =>
  provisionTaskHandler(provisionInputSchema, logger, (input, invocation) =>
    bootstrapWarehouse(input, deps, invocation),
  );

/** Task EnsureAirbyteObjects. */
export const createEnsureAirbyteHandler = (deps: EnsureAirbyteTaskDeps, logger: Logger) =>
  provisionTaskHandler(provisionInputSchema, logger, (input, invocation) =>
    ensureAirbyte(input, deps, invocation),
  );

/** Task WriteGrouparooConfig. */
export const createWriteGrouparooConfigHandler = (deps: GrouparooTaskDeps, logger: Logger) =>
  provisionTaskHandler(provisionInputSchema, logger, (input) => writeGrouparooConfigTask(input, deps));
