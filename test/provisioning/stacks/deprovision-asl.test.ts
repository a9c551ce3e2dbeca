import { readFileSync } from "node:fs";
import { taskResources } from "@tapestry/core/pipeline";
import {
  DEPROVISION_FUNCTIONS,
  PROVISION_TASKS,
  provisionRetriedErrorNames,
  provisionTaskTimeoutSeconds,
} from "@tapestry/core/provisioning";
import aslValidator from "asl-validator";
import { describe, expect, it } from "vitest";
import type { ChoiceState, StateMachineDefinition, TaskState } from "../../../state-machines/src/asl";
import { DEPROVISION_STATE_STEPS, DEPROVISION_TASK_STATES } from "../../../state-machines/src/deprovision";
import { DEPROVISION_ASL_PATH, renderDeprovisionAsl } from "../../../state-machines/src/generate";

const COMMITTED = readFileSync(DEPROVISION_ASL_PATH, "utf8");
const DEFINITION = JSON.parse(COMMITTED) as StateMachineDefinition;

describe("state-machines/deprovision.asl.json", () => {
  it("is exactly what npm run asl writes from state-machines/src/deprovision.ts", () => {
    expect(COMMITTED, "run `npm run asl` and commit the result").toBe(renderDeprovisionAsl());
  });

  it("with its function ARNs filled in, is a valid Amazon States Language definition", () => {
    let filled = COMMITTED;
    for (const fn of DEPROVISION_FUNCTIONS) {
      filled = filled.replaceAll(
        `\${${fn}}`,
        `arn:aws:lambda:us-east-1:123456789012:function:tapestry-test-${fn}`,
      );
    }
    const result = aslValidator(JSON.parse(filled));
    expect(result.errors).toEqual([]);
    expect(new Set(taskResources(DEFINITION as never).values())).toEqual(
      new Set(DEPROVISION_FUNCTIONS.map((fn) => `\${${fn}}`)),
    );
  });

  it("deletes Grouparoo's stack before Airbyte's, each waited on, then reports what remains", () => {
    const next = (state: string): string => {
      const s = DEFINITION.States[state];
      if (s?.Type === "Choice") return (s as ChoiceState).Choices[0]?.Next ?? "";
      return (s as { Next?: string })?.Next ?? "";
    };
    const path = [DEFINITION.StartAt];
    while (path.length < 30) {
      const following = next(path.at(-1) ?? "");
      if (!following || path.includes(following)) break;
      path.push(following);
    }
    expect(path).toEqual([
      "BeginDeprovisioning",
      "GrouparooSelfHosted",
      "DeleteGrouparooStack",
      "WaitGrouparooDeleted",
      "CheckGrouparooDeleted",
      "GrouparooGone",
      "AirbyteSelfHosted",
      "DeleteAirbyteStack",
      "WaitAirbyteDeleted",
      "CheckAirbyteDeleted",
      "AirbyteGone",
      "ReportRemains",
      "DeprovisioningSucceeded",
    ]);
    expect((DEFINITION.States.GrouparooGone as ChoiceState).Default).toBe("WaitGrouparooDeleted");
  });

  it("each Task retries what its task can cure and publishes DeprovisioningFailed naming its step otherwise", () => {
    for (const [name, coreTask] of Object.entries(DEPROVISION_TASK_STATES)) {
      const state = DEFINITION.States[name] as TaskState;
      expect(state.Resource).toBe(`\${${PROVISION_TASKS[coreTask].function}}`);
      expect(state.TimeoutSeconds).toBe(provisionTaskTimeoutSeconds(PROVISION_TASKS[coreTask].function));
      expect(state.Retry[0]?.ErrorEquals).toEqual(provisionRetriedErrorNames(coreTask));
      if (name === "PublishDeprovisioningFailed") continue;
      const step = DEPROVISION_STATE_STEPS[name as keyof typeof DEPROVISION_STATE_STEPS];
      expect(DEFINITION.States[state.Catch[0]?.Next ?? ""], name).toMatchObject({
        Type: "Pass",
        Parameters: { step },
        Next: "PublishDeprovisioningFailed",
      });
    }
    expect((DEFINITION.States.PublishDeprovisioningFailed as TaskState).Catch[0]?.Next).toBe(
      "DeprovisioningFailed",
    );
  });
});
