import type { TapestryEvent } from "./catalog";

/**
 * The fact an event states, as a key unique within its run: its detail-type, and for step events
 * the stage and step. A run states each fact once (one StepSucceeded per step, one
 * PipelineRunStarted ...), so two events with the same key are two copies of one fact, as a task
 * that published and was then retried sends them: ledgers and consumers keep the first.
 * (Stage and step names are lower-case letters, digits and dashes, so `:` cannot be ambiguous.)
 * The reconciler's inferred outcomes are facts of their own, kept beside the stated ones.
 */
export function factKey(event: TapestryEvent): string {
  const data = event.detail.data as { readonly stage?: string; readonly step?: string };
  const base =
    data.step === undefined
      ? event["detail-type"]
      : `${event["detail-type"]}:${data.stage ?? ""}:${data.step}`;
  // What the reconciler infers is another fact than what the state machine states: both are kept,
  // and the projection prefers the state machine's (see isReconciled).
  return isReconciled(event) ? `${base}:reconciled` : base;
}

/**
 * An outcome the run reconciler inferred after an execution ended outside the state machine's
 * paths (aborted, timed out, cancelled, died with its process), rather than one the state machine
 * stated as it happened. Where both exist, the stated one is the truth.
 */
export function isReconciled(event: TapestryEvent): boolean {
  switch (event["detail-type"]) {
    case "PipelineRunCancelled":
      return true;
    case "PipelineRunFailed":
    case "StepFailed":
      return event.detail.data.reconciled === true;
    default:
      return false;
  }
}
