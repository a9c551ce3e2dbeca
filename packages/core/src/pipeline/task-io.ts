import { z } from "zod";
import { pipelineSchema, stepSchema } from "../config/schema";
import { runTriggerSchema, STEP_FAILURE_REASONS } from "../events/catalog";

/**
 * The data the pipeline-run state machine passes to its tasks and gets back from them: the
 * contract between state-machines/pipeline-run.asl.json and the handlers, parsed on both sides.
 * Optional values travel as null: a JSONPath in the ASL may not point at a missing field.
 */

const isoTime = z.iso.datetime({ offset: true });

export const runInputSchema = z.object({
  runId: z.string().min(1),
  trigger: runTriggerSchema,
  pipeline: pipelineSchema,
});
export type RunInput = z.output<typeof runInputSchema>;

export const jobSchema = z.object({
  externalId: z.string(),
  url: z.string().nullable(),
  attached: z.boolean(),
  startedAt: isoTime,
  deadline: isoTime,
  /** running: keep polling; timed-out: cancel; succeeded / failed: the step is over */
  state: z.enum(["running", "timed-out", "succeeded", "failed"]),
  toolStatus: z.string().nullable(),
  /**
   * how the step waits for the job's end: poll (a Wait, then PollStep) or webhook (WaitForWebhook:
   * a task token the tool's webhook completes, a fallback poll when none came). Jobs started
   * before completion modes existed poll.
   */
  completion: z.enum(["webhook", "poll"]).default("poll"),
  /** seconds until the next poll (webhook completion: until the fallback poll) */
  waitSeconds: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative().nullable(),
  bytes: z.number().int().nonnegative().nullable(),
  reason: z.enum(STEP_FAILURE_REASONS).nullable(),
  error: z.string().nullable(),
});
export type Job = z.output<typeof jobSchema>;

const stepTask = {
  runId: z.string().min(1),
  pipeline: z.string().min(1),
  stage: z.string().min(1),
  step: stepSchema,
};

export const startStepInputSchema = z.object({
  ...stepTask,
  /**
   * Set by the state machine's AdoptOrStartStep after StartStep failed with
   * ToolTriggerUncertainError: look for the job an earlier start may have triggered before triggering.
   */
  adopt: z.boolean().optional(),
});
export type StartStepInput = z.output<typeof startStepInputSchema>;

export const pollStepInputSchema = z.object({ ...stepTask, job: jobSchema });
export type PollStepInput = z.output<typeof pollStepInputSchema>;

/**
 * Step Functions' task tokens are at most 2,048 characters (SendTaskSuccess' `taskToken`); the
 * embedded runner's are shorter.
 */
export const TASK_TOKEN_MAX_LENGTH = 2048;

/**
 * WaitForWebhook's payload (lambda:invoke.waitForTaskToken): the step, its job, and the task token
 * that the job's webhook (or the registration itself, when the webhook came first) completes.
 */
export const awaitWebhookInputSchema = z.object({
  ...stepTask,
  job: jobSchema,
  taskToken: z.string().min(1).max(TASK_TOKEN_MAX_LENGTH),
});
export type AwaitWebhookInput = z.output<typeof awaitWebhookInputSchema>;

/** A Catch clause's ResultPath content: Step Functions' error name and cause. */
export const taskErrorSchema = z.object({ Error: z.string(), Cause: z.string().nullish() });
export type TaskError = z.output<typeof taskErrorSchema>;

export const cancelStepInputSchema = z.object({
  ...stepTask,
  job: jobSchema,
  /** timeout: the deadline passed; error: polling kept failing, so the job is abandoned */
  reason: z.enum(["timeout", "error"]),
  failure: taskErrorSchema.nullish(),
});
export type CancelStepInput = z.output<typeof cancelStepInputSchema>;

export const stepErroredInputSchema = z.object({
  event: z.literal("StepFailed"),
  ...stepTask,
  failure: taskErrorSchema,
});
export type StepErroredInput = z.output<typeof stepErroredInputSchema>;

export const lockInputSchema = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("acquire"),
    runId: z.string().min(1),
    trigger: runTriggerSchema,
    pipeline: pipelineSchema,
  }),
  z.object({ action: z.literal("release"), runId: z.string().min(1), pipeline: z.string().min(1) }),
]);
export type LockInput = z.output<typeof lockInputSchema>;

export const lockOutputSchema = z.object({
  outcome: z.enum(["acquired", "wait", "skipped", "released"]),
  waitSeconds: z.number().int().nonnegative(),
  activeRunId: z.string().nullable(),
});
export type LockOutput = z.output<typeof lockOutputSchema>;

/** What one step of a stage ends with, as the state machine collects it (the step iteration's last Pass state). */
export const stepResultSchema = z.object({
  stage: z.string(),
  step: z.string(),
  status: z.enum(["succeeded", "failed"]),
  rows: z.number().int().nonnegative().nullable(),
  /**
   * Set when the step failed and its StepFailed event could not be published either (its
   * StepErrored task failed for good): why. PublishRunFailed publishes that StepFailed instead,
   * so no step of a finished run is left `running` in the ledger.
   */
  unannouncedError: z.string().nullable(),
});
export type StepResult = z.output<typeof stepResultSchema>;

/** The events the state machine publishes itself (step events come from the step tasks). */
export const runEventInputSchema = z.discriminatedUnion("event", [
  stepErroredInputSchema,
  z.object({
    event: z.literal("PipelineRunStarted"),
    runId: z.string().min(1),
    trigger: runTriggerSchema,
    pipeline: pipelineSchema,
  }),
  z.object({
    event: z.literal("PipelineRunSucceeded"),
    runId: z.string().min(1),
    pipeline: z.string().min(1),
    startedAt: isoTime,
    stages: z.array(z.object({ stage: z.string(), steps: z.array(stepResultSchema) })),
  }),
  z.object({
    event: z.literal("PipelineRunFailed"),
    runId: z.string().min(1),
    pipeline: z.string().min(1),
    /** the run's spec: which stage is the last, which tool a step uses */
    spec: pipelineSchema,
    /** absent when the run failed before it started (the lock, or PipelineRunStarted, failed) */
    startedAt: isoTime.nullish(),
    /**
     * what the run caught: a failed stage is Error "StageFailed" with its step results as JSON
     * (the Cause), anything else a task's error
     */
    failure: taskErrorSchema,
  }),
]);
export type RunEventInput = z.output<typeof runEventInputSchema>;
