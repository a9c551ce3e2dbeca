/**
 * Lambda target of the rule on Step Functions' status changes of the pipeline-run state machine
 * (FAILED, TIMED_OUT, ABORTED): gives the run its one recorded outcome, cancels the jobs it left
 * running and frees its lock; and of the rule on the Tapestry bus for StepStarted: cancels a job
 * that started after its run's execution was over.
 */
import { createReconcileRunHandler } from "../pipeline/reconcile-run";
import { reconcileRunDeps } from "./runtime";

export const handler = createReconcileRunHandler(reconcileRunDeps());
