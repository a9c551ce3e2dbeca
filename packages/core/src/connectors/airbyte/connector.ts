import * as z from "zod";
import type { AirbyteStep, AirbyteToolConfig } from "../../config";
import { ToolRequestError } from "../../errors";
import { type AuthProvider, bodyCredentials, noAuth, staticHeaderAuth } from "../../http";
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
import { ClientCredentialsAuth } from "./client-credentials";

const jobAnswer = z.looseObject({
  jobId: z.number().int(),
  status: z.string(),
  jobType: z.string(),
  connectionId: z.string().optional(),
  startTime: z.string().optional(),
  rowsSynced: z.number().optional(),
  bytesSynced: z.number().optional(),
});
type AirbyteJob = z.output<typeof jobAnswer>;

const jobListAnswer = z.looseObject({ data: z.array(jobAnswer) });

/** Airbyte statuses that mean "not finished yet"; `incomplete` is a failed attempt Airbyte will retry. */
const IN_FLIGHT = new Set(["pending", "queued", "running", "incomplete"]);

/** Airbyte public API v1: one sync job per step. */
export class AirbyteConnector
  extends HttpStepConnector<AirbyteToolConfig>
  implements StepConnector<AirbyteStep>
{
  readonly tool = "airbyte" as const;

  start(step: AirbyteStep, context: StepContext): Promise<StartedJob> {
    return this.startJob(
      {
        trigger: async (deadline) => {
          const response = await this.http.request({
            operation: "trigger sync",
            method: "POST",
            path: "/jobs",
            body: { connectionId: step.connectionId, jobType: "sync" },
            // 409: a sync of this connection is already running; we attach to it.
            accept: [409],
            deadline,
          });
          if (response.status === 409) return "conflict";
          const job = parseAnswer(this.tool, "the sync trigger", jobAnswer, response.body);
          return this.started(step, job, false);
        },
        findExisting: async (since, deadline) => {
          const skew = this.deps.adoptionSkewMs ?? 30_000;
          const job = (await this.recentJobs(step, deadline)).find(
            (j) => IN_FLIGHT.has(j.status) || wasCreatedSince(j.startTime, since - skew),
          );
          return job ? this.started(step, job, true) : undefined;
        },
      },
      context,
    );
  }

  async poll(step: AirbyteStep, externalId: string, call: CallOptions): Promise<JobStatus> {
    const status = await this.read(step, externalId, call);
    return cancelUnknownStatus(this.tool, status, () => this.cancel(step, externalId, call));
  }

  async cancel(step: AirbyteStep, externalId: string, call: CallOptions): Promise<JobStatus> {
    try {
      const response = await this.http.request({
        operation: "cancel job",
        method: "DELETE",
        path: `/jobs/${encodeURIComponent(externalId)}`,
        deadline: call.deadline,
      });
      // Airbyte cancels asynchronously: the job in the answer may still read running.
      if (response.body !== undefined) {
        return this.status(step, parseAnswer(this.tool, "the job cancel", jobAnswer, response.body));
      }
    } catch (error) {
      // A job that already finished cannot be cancelled; what matters is its final state.
      if (!(error instanceof ToolRequestError)) throw error;
      this.logger.info("airbyte cancel refused; reading the job's state instead", {
        externalId,
        status: error.status,
      });
    }
    return this.read(step, externalId, call);
  }

  /** The job's status as Airbyte reports it (rows and bytes included), with no side effect. */
  private async read(step: AirbyteStep, externalId: string, call: CallOptions): Promise<JobStatus> {
    const response = await this.http.request({
      operation: "read job",
      method: "GET",
      path: `/jobs/${encodeURIComponent(externalId)}`,
      deadline: call.deadline,
    });
    return this.status(step, parseAnswer(this.tool, "the job read", jobAnswer, response.body));
  }

  describe(step: AirbyteStep): StepDescription {
    return {
      tool: this.tool,
      toolLabel: "Airbyte",
      target: `connection ${step.connectionId}`,
      url: this.link(step),
    };
  }

  private async recentJobs(step: AirbyteStep, deadline: number): Promise<AirbyteJob[]> {
    const response = await this.http.request({
      operation: "list jobs",
      method: "GET",
      path: "/jobs",
      query: { connectionId: step.connectionId, jobType: "sync", limit: 20, orderBy: "createdAt|DESC" },
      deadline,
    });
    const jobs = parseAnswer(this.tool, "the job list", jobListAnswer, response.body).data;
    return jobs.sort((a, b) => b.jobId - a.jobId);
  }

  private started(step: AirbyteStep, job: AirbyteJob, attached: boolean): StartedJob {
    return { externalId: String(job.jobId), attached, url: this.link(step) };
  }

  private status(step: AirbyteStep, job: AirbyteJob): JobStatus {
    const common = {
      toolStatus: job.status,
      rows: job.rowsSynced,
      bytes: job.bytesSynced,
      url: this.link(step),
    };
    if (IN_FLIGHT.has(job.status)) return { state: "running", ...common };
    switch (job.status) {
      case "succeeded":
        return { state: "succeeded", ...common };
      case "failed":
        return {
          state: "failed",
          reason: "failed",
          error: `Airbyte sync job ${job.jobId} failed; its logs are in Airbyte`,
          ...common,
        };
      case "cancelled":
        return {
          state: "cancelled",
          reason: "cancelled",
          error: `Airbyte sync job ${job.jobId} was cancelled`,
          ...common,
        };
      default:
        return { ...unknownStatus("Airbyte", `"${job.status}"`, `job ${job.jobId}`), ...common };
    }
  }

  private link(step: AirbyteStep): string | undefined {
    return this.config.webUrl
      ? `${this.config.webUrl}/connections/${step.connectionId}/job-history`
      : undefined;
  }
}

export async function createAirbyteConnector(
  config: AirbyteToolConfig,
  deps: ConnectorDependencies,
): Promise<AirbyteConnector> {
  return new AirbyteConnector(await airbyteHttpClient(config, deps), config, deps);
}

/**
 * The HTTP client of Airbyte's public API with the config's auth (its secrets read now): what the
 * connector and provisioning (workspaces, sources, destinations, connections) both talk through.
 */
export async function airbyteHttpClient(config: AirbyteToolConfig, deps: ConnectorDependencies) {
  return toolHttpClient("airbyte", config, deps, await airbyteAuth(config, deps));
}

/** How requests to Airbyte's public API authenticate, from the config's `auth` and its secrets. */
export async function airbyteAuth(
  config: Pick<AirbyteToolConfig, "auth" | "baseUrl" | "requestTimeoutSeconds">,
  deps: ConnectorDependencies,
): Promise<AuthProvider> {
  let auth: AuthProvider;
  switch (config.auth.kind) {
    case "client-credentials": {
      const { clientIdSecret, clientSecretSecret } = config.auth;
      const clientId = await deps.secrets(clientIdSecret);
      const clientSecret = await deps.secrets(clientSecretSecret);
      const hint = `the secrets "${clientIdSecret}" and "${clientSecretSecret}"`;
      const tokenClient = toolHttpClient(
        "airbyte",
        config,
        deps,
        bodyCredentials([clientSecret, clientId], hint),
      );
      auth = new ClientCredentialsAuth(tokenClient, clientId, clientSecret, hint, deps.now ?? Date.now);
      break;
    }
    case "bearer": {
      const token = await deps.secrets(config.auth.tokenSecret);
      auth = staticHeaderAuth("authorization", "Bearer", token, config.auth.tokenSecret);
      break;
    }
    case "none":
      auth = noAuth;
      break;
  }
  return auth;
}
