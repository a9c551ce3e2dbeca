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
import {
  beginDeprovisioning,
  checkToolHealth,
  checkToolStack,
  checkToolStackDeleted,
  type DeprovisioningDeps,
  deleteToolStack,
  deployToolStack,
  deprovisionInputSchema,
  failDeprovisioning,
  failDeprovisioningInputSchema,
  finishDeprovisioning,
  readAirbyteCredentials,
  type ToolHealthDeps,
  type ToolStackTaskDeps,
  toolHealthInputSchema,
  toolStackInputSchema,
} from "@tapestry/core/provisioning/stacks";
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

/** The tool-stack function (Deploy/Check<Tool>Stack, Delete<Tool>Stack, Check<Tool>Deleted): one entry, the action in its input. */
export const createToolStackHandler = (deps: ToolStackTaskDeps, logger: Logger) =>
  provisionTaskHandler(toolStackInputSchema, logger, async (input) => {
    switch (input.action) {
      case "deploy":
        return deployToolStack(input, deps);
      case "check":
        return checkToolStack(input, deps);
      case "delete":
        return deleteToolStack(input, deps);
      case "checkDeleted":
        return checkToolStackDeleted(input, deps);
    }
  });

/** The tool-health function (Check<Tool>Health, ReadAirbyteCredentials). */
export const createToolHealthHandler = (deps: ToolHealthDeps, logger: Logger) =>
  provisionTaskHandler(toolHealthInputSchema, logger, async (input) =>
    input.action === "health" ? checkToolHealth(input, deps) : readAirbyteCredentials(deps),
  );

const deprovisioningRunInputSchema = z.discriminatedUnion("action", [
  deprovisionInputSchema.extend({ action: z.literal("begin") }),
  deprovisionInputSchema.extend({ action: z.literal("finish") }),
  failDeprovisioningInputSchema.extend({ action: z.literal("fail") }),
]);

/** The deprovision state machine's BeginDeprovisioning, ReportRemains and PublishDeprovisioningFailed. */
export const createDeprovisioningRunHandler = (deps: DeprovisioningDeps, logger: Logger) =>
  provisionTaskHandler(deprovisioningRunInputSchema, logger, async (input) => {
    switch (input.action) {
      case "begin":
        return beginDeprovisioning(input, deps);
      case "finish":
        return finishDeprovisioning(input, deps);
      case "fail":
        await failDeprovisioning(input, deps);
        return null;
    }
  });
