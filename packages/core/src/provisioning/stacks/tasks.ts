import * as z from "zod";
import type { TapestryConfig } from "../../config";
import type { SecretReader } from "../../connectors/types";
import type { EventPublisher } from "../../events";
import { HttpClient, noAuth } from "../../http";
import type { Logger } from "../../logging";
import { ProvisioningInputError } from "../errors";
import type { ProvisioningRuns } from "../store";
import { STACK_DEPLOY_TIMEOUT_MINUTES, TOOL_HEALTH_TIMEOUT_MINUTES } from "../task-errors";
import { publishProvisioningEvent as publish } from "../tasks";
import { type CloudFormationStacks, STACK_TOOLS, type StackTemplate, type StackTool } from "./cloudformation";
import { checkDelete, checkDeploy, type DeployAction, startDelete, startDeploy } from "./deployer";
import {
  ToolNeverHealthyError,
  ToolStackDeadlineError,
  ToolStackDeployFailedError,
  ToolStackNotConfiguredError,
  ToolStackStuckError,
} from "./errors";
import type { ToolStackRecords } from "./records";

/**
 * The provision and deprovision state machines' tool-stack tasks: start a deploy, check it (the
 * state machine waits in a Wait state between checks), wait until the tool answers its health
 * route, read Airbyte's API credentials, delete and check the delete. Each publishes its events and
 * keeps the tool's stack record (GET /stacks).
 */

/**
 * How long a stack's deploy (or delete) may take before the run stops waiting (an Airbyte install
 * alone may take 30 minutes), and a deployed tool to answer its health route (abctl installs after
 * the host is up): task-errors.ts, which sizes the execution's timeout from them.
 */
export { STACK_DEPLOY_TIMEOUT_MINUTES, TOOL_HEALTH_TIMEOUT_MINUTES } from "../task-errors";
/** The Wait states' pauses between checks. */
export const STACK_CHECK_INTERVAL_SECONDS = 30;
export const HEALTH_CHECK_INTERVAL_SECONDS = 20;
/** The Wait states of the provision and deprovision state machines (the embedded runner shortens them: its "stacks" are there at once). */
export const TOOL_STACK_WAIT_STATES = [
  "WaitAirbyteStack",
  "WaitAirbyteHealthy",
  "WaitGrouparooStack",
  "WaitGrouparooHealthy",
  "WaitGrouparooDeleted",
  "WaitAirbyteDeleted",
] as const;

/** Each tool's health route under its baseUrl, and what to look at when it never answers. */
export const TOOL_HEALTH: Readonly<Record<StackTool, { readonly path: string; readonly check: string }>> = {
  // Airbyte's public API: GET /health (reference.airbyte.com, "Health Check"); baseUrl is the public API's root
  airbyte: {
    path: "/health",
    check:
      "that tools.airbyte.baseUrl's host resolves to the stack's LoadBalancerDnsName (or its Route 53 record), that your network is in allowedCidrs, the target group's health in the EC2 console, and the install's log on the host (Session Manager: /var/log/tapestry-airbyte.log, also in the stack's log group)",
  },
  // Grouparoo 0.9's liveness route (shared/specs/grouparoo-api.md)
  grouparoo: {
    path: "/api/v1/status/public",
    check:
      "that tools.grouparoo.baseUrl's host resolves to the stack's LoadBalancerDnsName, that your network is in allowedCidrs, and the web service's tasks and logs in the ECS console",
  },
};

export interface ToolStackTaskDeps {
  readonly config: TapestryConfig;
  /** per self-hosted tool, its stack (TAPESTRY_TOOL_STACKS on AWS, the local deployer embedded) */
  readonly templates: Partial<Readonly<Record<StackTool, StackTemplate>>>;
  readonly cfn: CloudFormationStacks;
  readonly records: ToolStackRecords;
  readonly runs: ProvisioningRuns;
  readonly publisher: EventPublisher;
  readonly now: () => Date;
  readonly logger: Logger;
}

const runRef = { runId: z.string().regex(/^provision-[0-9A-HJKMNP-TV-Z]{26}$/), tool: z.enum(STACK_TOOLS) };

const deployStartSchema = z.object({
  action: z.enum(["create", "update", "recreate", "wait"]),
  stackName: z.string(),
  noChanges: z.boolean(),
  since: z.string(),
  deadline: z.string(),
});
export type DeployStarted = z.output<typeof deployStartSchema>;

export const toolStackInputSchema = z.discriminatedUnion("action", [
  /** previous: this run's earlier start of the same deploy ({} for none), resumed after a wait */
  z.object({ action: z.literal("deploy"), ...runRef, previous: deployStartSchema.partial() }),
  z.object({ action: z.literal("check"), ...runRef, deploy: deployStartSchema }),
  z.object({ action: z.literal("delete"), ...runRef }),
  z.object({
    action: z.literal("checkDeleted"),
    ...runRef,
    delete: z.object({ since: z.string(), deadline: z.string() }),
  }),
]);
export type ToolStackInput = z.output<typeof toolStackInputSchema>;

function templateOf(deps: ToolStackTaskDeps, tool: StackTool): StackTemplate {
  const template = deps.templates[tool];
  if (!template) throw new ToolStackNotConfiguredError(tool);
  return template;
}

const minutesLater = (at: Date, minutes: number) => new Date(at.getTime() + minutes * 60_000).toISOString();

/**
 * Task Deploy<Tool>Stack: starts (or, after a wait, starts again) the deploy. A re-entry keeps the
 * first start's `since` and deadline, and a recreate's create stays part of the recreate.
 */
export async function deployToolStack(
  input: Extract<ToolStackInput, { action: "deploy" }>,
  deps: ToolStackTaskDeps,
): Promise<DeployStarted> {
  const template = templateOf(deps, input.tool);
  const now = deps.now();
  const since = input.previous.since ?? now.toISOString();
  const deadline = input.previous.deadline ?? minutesLater(now, STACK_DEPLOY_TIMEOUT_MINUTES);
  try {
    const started = await startDeploy(deps.cfn, template);
    const recreating = input.previous.action === "recreate" && started.action === "create";
    const action: DeployAction = recreating ? "recreate" : started.action;
    if (action !== "wait" && !recreating) {
      await publish(deps, "StackDeployStarted", {
        runId: input.runId,
        tool: input.tool,
        stackName: template.stackName,
        action,
      });
    }
    return { action, stackName: template.stackName, noChanges: started.noChanges, since, deadline };
  } catch (error) {
    if (error instanceof ToolStackStuckError)
      await failed(deps, input, template.stackName, error.status, template.stackName, error.message);
    throw error;
  }
}

export type DeployChecked =
  | { readonly state: "in-progress" | "start-again"; readonly status: string | null }
  | {
      readonly state: "deployed";
      readonly status: string;
      readonly url: string | null;
      readonly deployedAt: string;
    };

/** Task Check<Tool>Stack: where the deploy stands; StackDeployed when it ends well, StackDeployFailed (and a throw) when not. */
export async function checkToolStack(
  input: Extract<ToolStackInput, { action: "check" }>,
  deps: ToolStackTaskDeps,
): Promise<DeployChecked> {
  const { stackName } = input.deploy;
  let checked: Awaited<ReturnType<typeof checkDeploy>>;
  try {
    checked = await checkDeploy(deps.cfn, stackName, input.deploy.action, input.deploy.since);
  } catch (error) {
    if (error instanceof ToolStackDeployFailedError) {
      await failed(deps, input, stackName, error.status, error.resource, error.reason);
    }
    throw error;
  }
  const now = deps.now();
  if (checked.state !== "deployed") {
    if (checked.state === "in-progress" && now.getTime() > Date.parse(input.deploy.deadline)) {
      const error = new ToolStackDeadlineError(stackName, checked.status, STACK_DEPLOY_TIMEOUT_MINUTES);
      await failed(deps, input, stackName, checked.status, stackName, error.message);
      throw error;
    }
    return checked;
  }
  const httpOnly = checked.outputs.HttpOnly === "true";
  const noChanges = input.deploy.noChanges;
  await publish(deps, "StackDeployed", {
    runId: input.runId,
    tool: input.tool,
    stackName,
    outputs: { ...checked.outputs },
    resourcesCreated: noChanges ? 0 : checked.resourcesCreated,
    resourcesUpdated: noChanges ? 0 : checked.resourcesUpdated,
    noChanges,
    httpOnly,
  });
  await deps.records.put({
    tool: input.tool,
    stackName,
    status: checked.status,
    outputs: checked.outputs,
    httpOnly,
    lastDeploy: { runId: input.runId, at: now.toISOString(), outcome: "deployed" },
  });
  return {
    state: "deployed",
    status: checked.status,
    url: checked.outputs.Url ?? null,
    deployedAt: now.toISOString(),
  };
}

async function failed(
  deps: ToolStackTaskDeps,
  input: { readonly runId: string; readonly tool: StackTool },
  stackName: string,
  status: string,
  resource: string,
  reason: string,
): Promise<void> {
  await publish(deps, "StackDeployFailed", {
    runId: input.runId,
    tool: input.tool,
    stackName,
    resource,
    reason,
    status,
  });
  const earlier = await deps.records.get(input.tool);
  await deps.records.put({
    tool: input.tool,
    stackName,
    status,
    outputs: earlier?.outputs ?? {},
    httpOnly: earlier?.httpOnly ?? false,
    lastDeploy: {
      runId: input.runId,
      at: deps.now().toISOString(),
      outcome: "failed",
      reason: `${resource}: ${reason}`,
    },
  });
}

export const toolHealthInputSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("health"), ...runRef, deployedAt: z.string() }),
  z.object({ action: z.literal("credentials"), runId: runRef.runId }),
]);
export type ToolHealthInput = z.output<typeof toolHealthInputSchema>;

export interface ToolHealthDeps {
  readonly config: TapestryConfig;
  readonly secrets: SecretReader;
  readonly now: () => Date;
  readonly logger: Logger;
  /** tests: the HTTP client's fetch is the global one; a short per-request timeout */
  readonly requestTimeoutMs?: number;
}

/**
 * Task Wait<Tool>Healthy's check: one GET of the tool's health route at tools.<tool>.baseUrl. Not
 * healthy yet is an answer (the state machine waits and asks again); past the deadline it is
 * ToolNeverHealthyError naming the URL and what to check.
 */
export async function checkToolHealth(
  input: Extract<ToolHealthInput, { action: "health" }>,
  deps: ToolHealthDeps,
): Promise<{ readonly healthy: boolean; readonly url: string }> {
  const baseUrl = deps.config.tools[input.tool]?.baseUrl;
  if (!baseUrl)
    throw new ProvisioningInputError(
      `a self-hosted ${input.tool} needs tools.${input.tool}.baseUrl: the URL it is served at`,
    );
  const route = TOOL_HEALTH[input.tool];
  const url = `${baseUrl.replace(/\/+$/, "")}${route.path}`;
  const client = new HttpClient({
    tool: input.tool,
    baseUrl: baseUrl.replace(/\/+$/, ""),
    timeoutMs: deps.requestTimeoutMs ?? 10_000,
    auth: noAuth,
    // one attempt: the state machine's Wait is the retry
    retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0 },
    logger: deps.logger,
  });
  let answer: string;
  try {
    const response = await client.request({
      operation: "health check",
      method: "GET",
      path: route.path,
      accept: [...Array.from({ length: 500 }, (_, i) => i + 100)],
    });
    if (response.status >= 200 && response.status < 300) return { healthy: true, url };
    answer = `HTTP ${response.status}`;
  } catch (error) {
    answer = error instanceof Error ? error.message : String(error);
  }
  if (deps.now().getTime() > Date.parse(input.deployedAt) + TOOL_HEALTH_TIMEOUT_MINUTES * 60_000) {
    throw new ToolNeverHealthyError(input.tool, url, TOOL_HEALTH_TIMEOUT_MINUTES, answer, route.check);
  }
  deps.logger.info("tool not healthy yet", { tool: input.tool, url, answer });
  return { healthy: false, url };
}

/**
 * Task ReadAirbyteCredentials: the two secrets of tools.airbyte.auth the host wrote (client id and
 * secret) are readable. Only presence is checked; the values never leave this function.
 */
export async function readAirbyteCredentials(deps: ToolHealthDeps): Promise<{ readonly read: true }> {
  const auth = deps.config.tools.airbyte?.auth;
  if (auth?.kind !== "client-credentials") {
    throw new ProvisioningInputError(
      'a self-hosted Airbyte needs tools.airbyte.auth.kind = "client-credentials": its host writes the application\'s client id and secret into the two secrets that auth names',
    );
  }
  await deps.secrets(auth.clientIdSecret);
  await deps.secrets(auth.clientSecretSecret);
  return { read: true };
}

/** Task Delete<Tool>Stack: asks CloudFormation to delete it (nothing when there is none). */
export async function deleteToolStack(
  input: Extract<ToolStackInput, { action: "delete" }>,
  deps: ToolStackTaskDeps,
): Promise<{ readonly since: string; readonly deadline: string }> {
  const template = templateOf(deps, input.tool);
  const now = deps.now();
  await startDelete(deps.cfn, template.stackName);
  return { since: now.toISOString(), deadline: minutesLater(now, STACK_DEPLOY_TIMEOUT_MINUTES) };
}

/** Task Check<Tool>Deleted: StackDeleted once it is gone. */
export async function checkToolStackDeleted(
  input: Extract<ToolStackInput, { action: "checkDeleted" }>,
  deps: ToolStackTaskDeps,
): Promise<{ readonly state: "in-progress" | "deleted" }> {
  const template = templateOf(deps, input.tool);
  const checked = await checkDelete(deps.cfn, template.stackName, input.delete.since);
  if (checked.state === "in-progress") {
    if (deps.now().getTime() > Date.parse(input.delete.deadline)) {
      throw new ToolStackDeadlineError(template.stackName, checked.status, STACK_DEPLOY_TIMEOUT_MINUTES);
    }
    return { state: "in-progress" };
  }
  await publish(deps, "StackDeleted", {
    runId: input.runId,
    tool: input.tool,
    stackName: template.stackName,
  });
  const earlier = await deps.records.get(input.tool);
  await deps.records.put({
    tool: input.tool,
    stackName: template.stackName,
    status: null,
    // as last deployed: the report of what remains names the retained bucket from them
    outputs: earlier?.outputs ?? {},
    httpOnly: earlier?.httpOnly ?? false,
    lastDeploy: { runId: input.runId, at: deps.now().toISOString(), outcome: "deleted" },
  });
  return { state: "deleted" };
}
