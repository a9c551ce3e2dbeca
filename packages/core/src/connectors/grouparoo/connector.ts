import * as z from "zod";
import type { GrouparooStep, GrouparooToolConfig } from "../../config";
import { staticHeaderAuth } from "../../http";
import { cancelUnknownStatus, parseAnswer, unknownStatus, wasCreatedSince } from "../answer";
import { HttpStepConnector } from "../http-connector";
import { toolHttpClient } from "../tool-http";
import type {
  CallOptions,
  ConnectorDependencies,
  JobStatus,
  StartedJob,
  StepConnector,
  StepContext,
  StepDescription,
} from "../types";

const runObject = z.looseObject({
  id: z.string().min(1),
  creatorId: z.string().nullish(),
  state: z.string(),
  error: z.string().nullish(),
  recordsImported: z.number().nullish(),
  importsCreated: z.number().nullish(),
  createdAt: z.string().nullish(),
});
type GrouparooRun = z.output<typeof runObject>;

const runAnswer = z.looseObject({ run: runObject });
const runListAnswer = z.looseObject({ runs: z.array(runObject) });

const IN_FLIGHT = new Set(["draft", "running"]);

/**
 * Grouparoo: one schedule run per step. Grouparoo never answers 409: running a schedule whose
 * run is in flight STOPS that run and starts another. So `start` always looks for a run in
 * flight first and attaches to it; it never pre-empts.
 */
export class GrouparooConnector
  extends HttpStepConnector<GrouparooToolConfig>
  implements StepConnector<GrouparooStep>
{
  readonly tool = "grouparoo" as const;

  start(step: GrouparooStep, context: StepContext): Promise<StartedJob> {
    return this.startJob(
      {
        inFlight: async (deadline) => {
          const running = (await this.recentRuns(step, deadline)).find((r) => IN_FLIGHT.has(r.state));
          return running ? this.started(running, true) : undefined;
        },
        trigger: async (deadline) => {
          const response = await this.http.request({
            operation: "run schedule",
            method: "POST",
            path: `/api/v1/schedule/${encodeURIComponent(step.scheduleId)}/run`,
            deadline,
          });
          return this.started(
            parseAnswer(this.tool, "the schedule run", runAnswer, response.body).run,
            false,
          );
        },
        findExisting: async (since, deadline) => {
          const skew = this.deps.adoptionSkewMs ?? 30_000;
          const run = (await this.recentRuns(step, deadline)).find(
            (r) => IN_FLIGHT.has(r.state) || wasCreatedSince(r.createdAt, since - skew),
          );
          return run ? this.started(run, true) : undefined;
        },
      },
      context,
    );
  }

  async poll(step: GrouparooStep, externalId: string, call: CallOptions): Promise<JobStatus> {
    const response = await this.http.request({
      operation: "read run",
      method: "GET",
      path: `/api/v1/run/${encodeURIComponent(externalId)}`,
      deadline: call.deadline,
    });
    const status = this.status(step, parseAnswer(this.tool, "the run read", runAnswer, response.body).run);
    return cancelUnknownStatus(this.tool, status, () => this.cancel(step, externalId, call));
  }

  /** Grouparoo answers a stop with the run as it stands; a finished run keeps its outcome and counts. */
  async cancel(step: GrouparooStep, externalId: string, call: CallOptions): Promise<JobStatus> {
    const response = await this.http.request({
      operation: "stop run",
      method: "PUT",
      path: `/api/v1/run/${encodeURIComponent(externalId)}`,
      body: { state: "stopped" },
      deadline: call.deadline,
    });
    return this.status(step, parseAnswer(this.tool, "the run stop", runAnswer, response.body).run);
  }

  describe(step: GrouparooStep): StepDescription {
    return { tool: this.tool, toolLabel: "Grouparoo", target: `schedule ${step.scheduleId}` };
  }

  private async recentRuns(step: GrouparooStep, deadline: number): Promise<GrouparooRun[]> {
    const response = await this.http.request({
      operation: "list runs",
      method: "GET",
      path: "/api/v1/runs",
      query: { id: step.scheduleId, limit: 10 },
      deadline,
    });
    return parseAnswer(this.tool, "the run list", runListAnswer, response.body).runs;
  }

  private started(run: GrouparooRun, attached: boolean): StartedJob {
    return { externalId: run.id, attached, url: this.link(run.id) };
  }

  private status(step: GrouparooStep, run: GrouparooRun): JobStatus {
    const common = {
      toolStatus: run.state,
      rows: run.recordsImported ?? run.importsCreated ?? undefined,
      url: this.link(run.id),
    };
    if (IN_FLIGHT.has(run.state)) return { state: "running", ...common };
    switch (run.state) {
      case "complete":
        if (!run.error) return { state: "succeeded", ...common };
        if (step.allowPartialSuccess)
          return { state: "succeeded", error: `some imports failed: ${run.error}`, ...common };
        return {
          state: "failed",
          reason: "partial-failure",
          error: `Grouparoo run ${run.id} completed with errors: ${run.error} (set allowPartialSuccess to accept partial runs)`,
          ...common,
        };
      case "stopped":
        return {
          state: "cancelled",
          reason: "cancelled",
          error: `Grouparoo run ${run.id} was stopped${run.error ? `: ${run.error}` : ""}`,
          ...common,
        };
      default:
        return { ...unknownStatus("Grouparoo", `"${run.state}"`, `run ${run.id}`), ...common };
    }
  }

  private link(runId: string): string | undefined {
    return this.config.webUrl ? `${this.config.webUrl}/run/${encodeURIComponent(runId)}/edit` : undefined;
  }
}

export async function createGrouparooConnector(
  config: GrouparooToolConfig,
  deps: ConnectorDependencies,
): Promise<GrouparooConnector> {
  const apiKey = await deps.secrets(config.apiKeySecret);
  const auth = staticHeaderAuth("authorization", "Bearer", apiKey, config.apiKeySecret);
  return new GrouparooConnector(toolHttpClient("grouparoo", config, deps, auth), config, deps);
}
