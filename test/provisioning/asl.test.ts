import { readFileSync } from "node:fs";
import { LAMBDA_TRANSIENT_ERRORS, taskResources } from "@tapestry/core/pipeline";
import {
  PROVISION_FUNCTIONS,
  PROVISION_TASKS,
  provisionRetriedErrorNames,
  provisionTaskTimeoutSeconds,
  provisionTimeoutSeconds,
} from "@tapestry/core/provisioning";
import aslValidator from "asl-validator";
import { describe, expect, it } from "vitest";
import type { ChoiceState, StateMachineDefinition, TaskState } from "../../state-machines/src/asl";
import { PROVISION_ASL_PATH, renderProvisionAsl } from "../../state-machines/src/generate";
import { PROVISION_STATE_STEPS, PROVISION_TASK_STATES } from "../../state-machines/src/provision";

const COMMITTED = readFileSync(PROVISION_ASL_PATH, "utf8");
const DEFINITION = JSON.parse(COMMITTED) as StateMachineDefinition;
const tasks = Object.entries(DEFINITION.States).filter(
  (entry): entry is [string, TaskState] => entry[1].Type === "Task",
);

describe("state-machines/provision.asl.json", () => {
  it("is exactly what npm run asl writes from state-machines/src/provision.ts", () => {
    expect(COMMITTED, "run `npm run asl` and commit the result").toBe(renderProvisionAsl());
  });

  it("with its function ARNs filled in, is a valid Amazon States Language definition (asl-validator)", () => {
    let filled = COMMITTED;
    for (const fn of PROVISION_FUNCTIONS) {
      filled = filled.replaceAll(
        `\${${fn}}`,
        `arn:aws:lambda:us-east-1:123456789012:function:tapestry-test-${fn}`,
      );
    }
    const result = aslValidator(JSON.parse(filled));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
    expect(new Set(taskResources(DEFINITION as never).values())).toEqual(
      new Set(PROVISION_FUNCTIONS.map((fn) => `\${${fn}}`)),
    );
  });

  it("goes validate -> bootstrap -> the tool stacks' slot -> Airbyte -> Grouparoo -> record outputs", () => {
    const next = (state: string): string => {
      const s = DEFINITION.States[state];
      if (s?.Type === "Choice") return (s as ChoiceState).Choices[0]?.Next ?? "";
      return (s as { Next?: string })?.Next ?? "";
    };
    const path: string[] = [DEFINITION.StartAt];
    while (path.length < 20) {
      const following = next(path.at(-1) ?? "");
      if (!following) break;
      path.push(following);
    }
    expect(path).toEqual([
      "BeginProvisioning",
      "WarehouseDeclared",
      "BootstrapWarehouse",
      "DeployToolStacks",
      "AirbyteDeclared",
      "EnsureAirbyteObjects",
      "GrouparooDeclared",
      "WriteGrouparooConfig",
      "RecordOutputs",
      "ProvisioningSucceeded",
    ]);
    expect(DEFINITION.States.DeployToolStacks).toMatchObject({
      Type: "Pass",
      Comment: expect.stringMatching(/^SLOT FOR ISSUE 11 \(self-hosted tool stacks\)/),
    });
    expect(DEFINITION.TimeoutSeconds).toBe(provisionTimeoutSeconds());
  });

  it("skips a step the config has nothing for: each Choice's Default goes to the next step, never to the end", () => {
    for (const name of ["WarehouseDeclared", "AirbyteDeclared", "GrouparooDeclared"]) {
      const choice = DEFINITION.States[name] as ChoiceState;
      expect(choice.Default, name).not.toMatch(/Succeeded|Failed/);
    }
  });

  it.each(tasks)(
    "%s retries exactly what its task can cure, with a timeout just above its function's",
    (name, state) => {
      const task = PROVISION_TASKS[PROVISION_TASK_STATES[name as keyof typeof PROVISION_TASK_STATES]];
      expect(state.Resource).toBe(`\${${task.function}}`);
      expect(state.TimeoutSeconds).toBe(provisionTaskTimeoutSeconds(task.function));
      expect(state.Retry).toHaveLength(1);
      const retried = state.Retry[0]?.ErrorEquals ?? [];
      expect(retried).toEqual(
        provisionRetriedErrorNames(PROVISION_TASK_STATES[name as keyof typeof PROVISION_TASK_STATES]),
      );
      expect(retried).toEqual(expect.arrayContaining([...LAMBDA_TRANSIENT_ERRORS]));
      // every named error it throws is retried, or caught by its one Catch (States.ALL)
      expect(state.Catch).toEqual([
        { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: expect.any(String) },
      ]);
      for (const error of task.throws) {
        const isRetried = retried.includes(error.name);
        const curable = [
          "ToolUnavailableError",
          "SecretUnavailableError",
          "WarehouseUnavailableError",
          "EventPublishError",
          "ProvisioningStoreUnavailableError",
        ];
        expect(isRetried, `${name} ${error.name}`).toBe(curable.includes(error.name));
      }
    },
  );

  it("a failed step goes to PublishProvisioningFailed naming that step; a failed publish still ends failed", () => {
    for (const [name, step] of Object.entries(PROVISION_STATE_STEPS)) {
      const state = DEFINITION.States[name] as TaskState;
      const catcher = state.Catch[0]?.Next ?? "";
      expect(DEFINITION.States[catcher], name).toMatchObject({
        Type: "Pass",
        Parameters: { step },
        ResultPath: "$.failedStep",
        Next: "PublishProvisioningFailed",
      });
    }
    const publish = DEFINITION.States.PublishProvisioningFailed as TaskState;
    expect(publish.Next).toBe("ProvisioningFailed");
    expect(publish.Catch[0]?.Next).toBe("ProvisioningFailed");
    expect(DEFINITION.States.ProvisioningFailed).toMatchObject({ Type: "Fail", Error: "ProvisioningFailed" });
  });
});
