import type { StepSpec } from "../config";
import { endedOnItsOwn } from "../connectors/job-status";
import type { CallOptions, JobStatus } from "../connectors/types";
import { createEvent, type StepFailureReason } from "../events";
import type { PipelineDeps } from "./deps";
import { applyStepGuards } from "./guards";
import { stepEndEvent } from "./step-end";
import { describeTaskError } from "./task-error";
import type { CancelStepInput, Job, PollStepInput, StartStepInput, StepErroredInput } from "./task-io";
import { TASK_FUNCTION_TIMEOUT_SECONDS } from "./timeouts";

/**
 * How far back an adopting start looks for the job an earlier start may have triggered: that
 * start ran at most its function's timeout before this one (the connector adds its clock skew).
 */
const ADOPT_LOOK_BACK_MS = TASK_FUNCTION_TIMEOUT_SECONDS.StartStepFunctionArn * 1000;

/**
 * Seconds to the next poll: the step's poll interval, or with webhook completion its fallback
 * interval (how long to wait for the webhook before polling), but never past its deadline.
 */
function nextWait(step: StepSpec, deadline: string, now: Date): number {
  const interval = step.completion === "webhook" ? step.fallbackPollSeconds : step.pollIntervalSeconds;
  const left = Math.ceil((Date.parse(deadline) - now.getTime()) / 1000);
  return Math.max(1, Math.min(interval, left));
}

/** Who reads the job: the state machine's PollStep, or the receiver of the job's webhook (confirming it). */
export type PollOrigin = "poll" | "webhook";

/** What reading a step's job and announcing its end needs. */
export type StepPollDeps = Pick<PipelineDeps, "connectors" | "publisher" | "now" | "logger">;

/**
 * Starts (or adopts) the step's external job and announces it. In adopt mode (after a start
 * whose trigger may have taken effect unseen) it looks for that job before it triggers.
 */
export async function startStep(input: StartStepInput, deps: PipelineDeps, call: CallOptions): Promise<Job> {
  const { step } = input;
  const now = deps.now();
  const started = await deps.connectors.start(step, {
    pipeline: input.pipeline,
    runId: input.runId,
    deadline: call.deadline,
    adopt: input.adopt ? { lookBackMs: ADOPT_LOOK_BACK_MS } : undefined,
  });
  const deadline = new Date(now.getTime() + step.timeoutMinutes * 60_000).toISOString();
  await deps.publisher.publish([
    createEvent(
      "StepStarted",
      {
        runId: input.runId,
        stage: input.stage,
        step: step.name,
        tool: step.tool,
        externalId: started.externalId,
        url: started.url,
        attached: started.attached,
        startedAt: now.toISOString(),
        deadline,
      },
      { pipeline: input.pipeline, now },
    ),
  ]);
  return {
    externalId: started.externalId,
    url: started.url ?? null,
    attached: started.attached,
    startedAt: now.toISOString(),
    deadline,
    state: "running",
    toolStatus: null,
    completion: step.completion,
    waitSeconds: nextWait(step, deadline, now),
    rows: null,
    bytes: null,
    reason: null,
    error: null,
  };
}

/**
 * Reads the job once: still running, past its deadline, or over (and then announced). The state
 * machine polls (PollStep; with webhook completion, the fallback poll after a wait in which no
 * webhook came); the receiver of the job's webhook polls too, to confirm what the webhook said.
 */
export async function pollStep(
  input: PollStepInput,
  deps: StepPollDeps,
  call: CallOptions,
  origin: PollOrigin = "poll",
): Promise<Job> {
  const { step, job } = input;
  const status = applyStepGuards(step, await deps.connectors.poll(step, job.externalId, call));
  const now = deps.now();
  if (status.state === "running") {
    const timedOut = now.getTime() >= Date.parse(job.deadline);
    return {
      ...job,
      ...measures(status),
      state: timedOut ? "timed-out" : "running",
      waitSeconds: timedOut ? 0 : nextWait(step, job.deadline, now),
    };
  }
  if (origin === "poll" && job.completion === "webhook") {
    // The job ended and the fallback poll, not the webhook, saw it: say so, once per step.
    deps.logger.warn("a step waiting for its webhook saw its job end at the fallback poll", {
      pipeline: input.pipeline,
      runId: input.runId,
      step: step.name,
      tool: step.tool,
      externalId: job.externalId,
      hint: `no webhook for this job arrived (or it came late): check that ${step.tool} sends its webhooks to the status API (README: "Webhook completion")`,
    });
  }
  return finish(input, status, deps);
}

/**
 * Cancels the external job of a step that timed out, or whose polling kept failing, so that no
 * job is left running unwatched. A job that had finished before the cancel reached it keeps its
 * own outcome (succeeded with its rows, or failed with its error); the step fails with the given
 * reason only when the job was really stopped, or could not be.
 */
export async function cancelStep(
  input: CancelStepInput,
  deps: PipelineDeps,
  call: CallOptions,
): Promise<Job> {
  const { step, job } = input;
  let status: JobStatus | undefined;
  let cancelProblem = "";
  try {
    status = await deps.connectors.cancel(step, job.externalId, call);
  } catch (error) {
    cancelProblem = `; cancelling job ${job.externalId} failed too: ${error instanceof Error ? error.message : String(error)}`;
    deps.logger.error("cancelling a job failed", {
      externalId: job.externalId,
      step: step.name,
      error: cancelProblem,
    });
  }
  if (status && endedOnItsOwn(status)) return finish(input, applyStepGuards(step, status), deps);
  const theJob = `its ${step.tool} job ${job.externalId}`;
  const fate =
    status === undefined
      ? `${theJob} could not be cancelled`
      : status.state === "cancelled"
        ? `${theJob} was cancelled`
        : `${theJob} was asked to stop (it reports ${status.toolStatus} for now)`;
  const why =
    input.reason === "timeout"
      ? `step "${step.name}" timed out after ${step.timeoutMinutes} min; ${fate}`
      : `polling step "${step.name}" failed (${input.failure ? describeTaskError(input.failure) : "unknown error"}); ${fate}`;
  return finish(
    input,
    {
      state: "failed",
      toolStatus: status?.toolStatus ?? job.toolStatus ?? "unknown",
      rows: status?.rows,
      bytes: status?.bytes,
      url: status?.url,
      reason: input.reason === "timeout" ? undefined : "failed",
      error: why + cancelProblem,
    },
    deps,
    input.reason === "timeout" ? "timeout" : "error",
  );
}

/** A step whose task failed outright (e.g. refused credentials): announce the failure. */
export async function stepErrored(input: StepErroredInput, deps: PipelineDeps): Promise<Job> {
  const now = deps.now();
  const error = describeTaskError(input.failure);
  await deps.publisher.publish([
    createEvent(
      "StepFailed",
      {
        runId: input.runId,
        stage: input.stage,
        step: input.step.name,
        tool: input.step.tool,
        reason: "error",
        error,
        endedAt: now.toISOString(),
      },
      { pipeline: input.pipeline, now },
    ),
  ]);
  return {
    externalId: "",
    url: null,
    attached: false,
    startedAt: now.toISOString(),
    deadline: now.toISOString(),
    state: "failed",
    toolStatus: null,
    completion: input.step.completion,
    waitSeconds: 0,
    rows: null,
    bytes: null,
    reason: "error",
    error,
  };
}

function measures(status: JobStatus): Pick<Job, "toolStatus" | "rows" | "bytes"> {
  return { toolStatus: status.toolStatus, rows: status.rows ?? null, bytes: status.bytes ?? null };
}

async function finish(
  input: PollStepInput | CancelStepInput,
  status: JobStatus,
  deps: StepPollDeps,
  forcedReason?: StepFailureReason,
): Promise<Job> {
  const { step, job } = input;
  const event = stepEndEvent({
    pipeline: input.pipeline,
    runId: input.runId,
    stage: input.stage,
    step: step.name,
    tool: step.tool,
    externalId: job.externalId,
    url: job.url ?? undefined,
    startedAt: job.startedAt,
    status,
    reason: forcedReason,
    now: deps.now(),
  });
  await deps.publisher.publish([event]);
  const url = event.detail.data.url ?? null;
  if (event["detail-type"] === "StepSucceeded") {
    return { ...job, ...measures(status), state: "succeeded", waitSeconds: 0, url };
  }
  const { reason, error } = event.detail.data;
  return { ...job, ...measures(status), state: "failed", waitSeconds: 0, reason, error, url };
}
