import * as z from "zod";
import type { DbtCloudStep, DbtCloudToolConfig } from "../../config";
import { staticHeaderAuth } from "../../http";
import { cancelUnknownStatus, describeTrigger, parseAnswer, unknownStatus } from "../answer";
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
  id: z.number().int(),
  status: z.number().int(),
  status_humanized: z.string().nullish(),
  status_message: z.string().nullish(),
  href: z.string().nullish(),
  job_definition_id: z.number().int().nullish(),
  trigger: z.looseObject({ cause: z.string().nullish() }).nullish(),
});
type DbtRun = z.output<typeof runObject>;

const runAnswer = z.looseObject({ data: runObject });

/** The part of dbt's run_results.json that carries row counts (adapter_response.rows_affected per node). */
const runResults = z.looseObject({
  results: z.array(
    z.looseObject({
      unique_id: z.string(),
      adapter_response: z
        .looseObject({ rows_affected: z.number().int().nonnegative().optional() })
        .optional(),
    }),
  ),
});
const runListAnswer = z.looseObject({ data: z.array(runObject) });

/** dbt Cloud's cause field holds at most 255 characters. */
const MAX_CAUSE = 255;
const IN_FLIGHT = new Set([1, 2, 3]);
const STATUS_WORDS: Record<number, string> = {
  1: "queued",
  2: "starting",
  3: "running",
  10: "success",
  20: "error",
  30: "cancelled",
};

/** dbt Cloud API v2: one job run per step. */
export class DbtCloudConnector
  extends HttpStepConnector<DbtCloudToolConfig>
  implements StepConnector<DbtCloudStep>
{
  readonly tool = "dbt-cloud" as const;

  async start(step: DbtCloudStep, context: StepContext): Promise<StartedJob> {
    const cause = describeTrigger(context.pipeline, context.runId, step.name, MAX_CAUSE);
    const inFlight = (runs: readonly DbtRun[]) =>
      step.attachToInFlightRun ? runs.find((r) => IN_FLIGHT.has(r.status)) : undefined;
    return this.startJob(
      {
        inFlight: async (deadline) => {
          const running = inFlight(await this.recentRuns(step, deadline));
          return running ? this.started(running, true) : undefined;
        },
        trigger: async (deadline) => {
          const response = await this.http.request({
            operation: "trigger job run",
            method: "POST",
            path: `${this.accountPath(step)}/jobs/${step.jobId}/run/`,
            body: { cause },
            deadline,
          });
          return this.started(
            parseAnswer(this.tool, "the run trigger", runAnswer, response.body).data,
            false,
          );
        },
        // Our own run carries our cause, so it is found exactly; no clock comparison needed.
        findExisting: async (_since, deadline) => {
          const runs = await this.recentRuns(step, deadline);
          const ours = runs.find((r) => r.trigger?.cause === cause);
          if (ours) return this.started(ours, false);
          const running = inFlight(runs);
          return running ? this.started(running, true) : undefined;
        },
      },
      context,
    );
  }

  async poll(step: DbtCloudStep, externalId: string, call: CallOptions): Promise<JobStatus> {
    const response = await this.http.request({
      operation: "read run",
      method: "GET",
      path: `${this.accountPath(step)}/runs/${encodeURIComponent(externalId)}/`,
      deadline: call.deadline,
    });
    const run = parseAnswer(this.tool, "the run read", runAnswer, response.body).data;
    const status = await this.finalStatus(step, run, call);
    return cancelUnknownStatus(this.tool, status, () => this.cancel(step, externalId, call));
  }

  /**
   * dbt Cloud answers a cancel with the run as it stands: a run that had already finished keeps
   * its outcome, and its rows are read from run_results.json exactly as a poll reads them.
   */
  async cancel(step: DbtCloudStep, externalId: string, call: CallOptions): Promise<JobStatus> {
    const response = await this.http.request({
      operation: "cancel run",
      method: "POST",
      path: `${this.accountPath(step)}/runs/${encodeURIComponent(externalId)}/cancel/`,
      // Cancelling twice is the same as once: safe to retry.
      idempotent: true,
      deadline: call.deadline,
    });
    const run = parseAnswer(this.tool, "the run cancel", runAnswer, response.body).data;
    return this.finalStatus(step, run, call);
  }

  /** The run's status, with the rows its models wrote once it has succeeded. */
  private async finalStatus(step: DbtCloudStep, run: DbtRun, call: CallOptions): Promise<JobStatus> {
    const status = this.status(run);
    return status.state === "succeeded"
      ? { ...status, rows: await this.rowsAffected(step, String(run.id), call) }
      : status;
  }

  /**
   * dbt Cloud's run object has no row count; the run's run_results.json does (the rows each model
   * wrote, as the warehouse reported them). A run without the artifact still succeeds, without rows.
   */
  private async rowsAffected(
    step: DbtCloudStep,
    runId: string,
    call: CallOptions,
  ): Promise<number | undefined> {
    try {
      const response = await this.http.request({
        operation: "read run results",
        method: "GET",
        path: `${this.accountPath(step)}/runs/${encodeURIComponent(runId)}/artifacts/run_results.json`,
        accept: [404],
        deadline: call.deadline,
      });
      if (response.status === 404) return undefined;
      const counts = parseAnswer(this.tool, "the run results", runResults, response.body)
        .results.filter((r) => r.unique_id.startsWith("model."))
        .map((r) => r.adapter_response?.rows_affected)
        .filter((n): n is number => n !== undefined);
      return counts.length > 0 ? counts.reduce((sum, n) => sum + n, 0) : undefined;
    } catch (error) {
      this.logger.warn("dbt-cloud: run results unreadable; the step reports no row count", {
        runId,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  describe(step: DbtCloudStep): StepDescription {
    return { tool: this.tool, toolLabel: "dbt Cloud", target: `account ${step.accountId} job ${step.jobId}` };
  }

  private accountPath(step: DbtCloudStep): string {
    return `/api/v2/accounts/${step.accountId}`;
  }

  private async recentRuns(step: DbtCloudStep, deadline: number): Promise<DbtRun[]> {
    const response = await this.http.request({
      operation: "list runs",
      method: "GET",
      path: `${this.accountPath(step)}/runs/`,
      query: { job_definition_id: step.jobId, order_by: "-id", limit: 20, include_related: '["trigger"]' },
      deadline,
    });
    return parseAnswer(this.tool, "the run list", runListAnswer, response.body).data;
  }

  private started(run: DbtRun, attached: boolean): StartedJob {
    return { externalId: String(run.id), attached, url: run.href ?? undefined };
  }

  private status(run: DbtRun): JobStatus {
    const word = STATUS_WORDS[run.status];
    const common = { toolStatus: word ?? String(run.status), url: run.href ?? undefined };
    if (IN_FLIGHT.has(run.status)) return { state: "running", ...common };
    const message = run.status_message ? `: ${run.status_message}` : "";
    switch (run.status) {
      case 10:
        return { state: "succeeded", ...common };
      case 20:
        return {
          state: "failed",
          reason: "failed",
          error: `dbt Cloud run ${run.id} errored${message}`,
          ...common,
        };
      case 30:
        return {
          state: "cancelled",
          reason: "cancelled",
          error: `dbt Cloud run ${run.id} was cancelled${message}`,
          ...common,
        };
      default: {
        const humanized = run.status_humanized ? ` (${run.status_humanized})` : "";
        return { ...unknownStatus("dbt Cloud", `${run.status}${humanized}`, `run ${run.id}`), ...common };
      }
    }
  }
}

export async function createDbtCloudConnector(
  config: DbtCloudToolConfig,
  deps: ConnectorDependencies,
): Promise<DbtCloudConnector> {
  const token = await deps.secrets(config.tokenSecret);
  const auth = staticHeaderAuth("authorization", "Token", token, config.tokenSecret);
  return new DbtCloudConnector(toolHttpClient("dbt-cloud", config, deps, auth), config, deps);
}
