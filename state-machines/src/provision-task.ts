import {
  PROVISION_RETRY_POLICY,
  PROVISION_TASKS,
  type ProvisionTaskName,
  provisionRetriedErrorNames,
  provisionTaskTimeoutSeconds,
} from "@tapestry/core/provisioning";
import type { PayloadTemplate, TaskState } from "./asl";

export interface ProvisionTaskSpec {
  readonly comment: string;
  readonly parameters: PayloadTemplate;
  readonly resultPath: string | null;
  readonly next: string;
  /** where a failure goes; by default the state's own `<state>Failed` */
  readonly catchTo?: string;
}

/**
 * A Task state of the provision or deprovision state machine: the core task's function, its Retry
 * (what the task can raise and a retry can cure) and one Catch into the failure path.
 */
export function provisionTask(
  state: string,
  coreTask: ProvisionTaskName,
  spec: ProvisionTaskSpec,
): TaskState {
  const fn = PROVISION_TASKS[coreTask].function;
  return {
    Type: "Task",
    Comment: spec.comment,
    Resource: `\${${fn}}`,
    Parameters: spec.parameters,
    ResultPath: spec.resultPath,
    TimeoutSeconds: provisionTaskTimeoutSeconds(fn),
    Retry: [
      {
        ErrorEquals: provisionRetriedErrorNames(coreTask),
        IntervalSeconds: PROVISION_RETRY_POLICY.intervalSeconds,
        BackoffRate: PROVISION_RETRY_POLICY.backoffRate,
        MaxAttempts: PROVISION_RETRY_POLICY.maxAttempts,
        JitterStrategy: PROVISION_RETRY_POLICY.jitterStrategy,
      },
    ],
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: spec.catchTo ?? `${state}Failed` }],
    Next: spec.next,
  };
}
