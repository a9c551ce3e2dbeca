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
import type {
  ChoiceState,
  ParallelState,
  State,
  StateMachineDefinition,
  States,
  TaskState,
} from "../../state-machines/src/asl";
import { PROVISION_ASL_PATH, renderProvisionAsl } from "../../state-machines/src/generate";
import { PROVISION_STATE_STEPS, PROVISION_TASK_STATES } from "../../state-machines/src/provision";

const COMMITTED = readFileSync(PROVISION_ASL_PATH, "utf8");
const DEFINITION = JSON.parse(COMMITTED) as StateMachineDefinition;

/** Every state of a definition, those of a Parallel's branches included. */
function allStates(states: States): [string, State][] {
  return Object.entries(states).flatMap(([name, state]): [string, State][] => [
    [name, state],
    ...(state.Type === "Parallel" ? state.Branches.flatMap((branch) => allStates(branch.States)) : []),
  ]);
}
const STATES = Object.fromEntries(allStates(DEFINITION.States));
const tasks = allStates(DEFINITION.States).filter(
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

  it("goes validate -> [Airbyte's stack | the warehouse] -> Airbyte's objects -> Grouparoo's files -> Grouparoo's stack -> record outputs", () => {
    const next = (state: string): string => {
      const s = STATES[state];
      if (s?.Type === "Choice") return (s as ChoiceState).Choices[0]?.Next ?? "";
      return (s as { Next?: string })?.Next ?? "";
    };
    const walk = (from: string): string[] => {
      const path: string[] = [from];
      while (path.length < 40) {
        const following = next(path.at(-1) ?? "");
        if (!following || path.includes(following)) break;
        path.push(following);
      }
      return path;
    };
    expect(walk(DEFINITION.StartAt)).toEqual([
      "BeginProvisioning",
      "AirbyteStackAndWarehouse",
      "WarehouseFailed",
      "PublishWarehouseFailure",
      "PublishProvisioningFailed",
      "ProvisioningFailed",
    ]);
    // the success path: each Choice's Default after the Parallel, then the first choices
    const parallel = DEFINITION.States.AirbyteStackAndWarehouse as ParallelState;
    expect(parallel.Branches.map((b) => walk(b.StartAt))).toEqual([
      ["WarehouseDeclared", "BootstrapWarehouse", "WarehouseReady"],
      [
        "AirbyteSelfHosted",
        "DeployAirbyteStack",
        "WaitAirbyteStack",
        "CheckAirbyteStack",
        "AirbyteStackSettled",
        "WaitAirbyteHealthy",
        "CheckAirbyteHealth",
        "AirbyteHealthy",
        "ReadAirbyteCredentials",
        "AirbyteReady",
      ],
    ]);
    expect((STATES.AirbyteStackFailed as ChoiceState).Default).toBe("AirbyteDeclared");
    expect(walk("AirbyteDeclared")).toEqual([
      "AirbyteDeclared",
      "EnsureAirbyteObjects",
      "GrouparooDeclared",
      "WriteGrouparooConfig",
      "GrouparooSelfHosted",
      "FirstGrouparooDeploy",
      "DeployGrouparooStack",
      "WaitGrouparooStack",
      "CheckGrouparooStack",
      "GrouparooStackSettled",
      "WaitGrouparooHealthy",
      "CheckGrouparooHealth",
      "GrouparooHealthy",
      "RecordOutputs",
      "ProvisioningSucceeded",
    ]);
    // a stack still in progress waits again; a wait that ended starts the deploy again
    expect(STATES.AirbyteStackSettled).toMatchObject({
      Choices: [
        { StringEquals: "deployed", Next: "WaitAirbyteHealthy" },
        { StringEquals: "start-again", Next: "DeployAirbyteStack" },
      ],
      Default: "WaitAirbyteStack",
    });
    expect((STATES.AirbyteHealthy as ChoiceState).Default).toBe("WaitAirbyteHealthy");
    expect(DEFINITION.TimeoutSeconds).toBe(provisionTimeoutSeconds());
  });

  it("skips a step the config has nothing for: each Choice's Default goes to the next step, never to the end", () => {
    for (const name of [
      "WarehouseDeclared",
      "AirbyteSelfHosted",
      "AirbyteDeclared",
      "GrouparooDeclared",
      "GrouparooSelfHosted",
    ]) {
      const choice = STATES[name] as ChoiceState;
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
          "CloudFormationUnavailableError",
          // Airbyte's host writes its credentials just after its install: waited for, not failed
          ...(name === "ReadAirbyteCredentials" ? ["SecretNotSetError"] : []),
        ];
        expect(isRetried, `${name} ${error.name}`).toBe(curable.includes(error.name));
      }
    },
  );

  it("a failed step goes to PublishProvisioningFailed naming that step; a failed publish still ends failed", () => {
    const inBranches = new Set(
      (DEFINITION.States.AirbyteStackAndWarehouse as ParallelState).Branches.flatMap((b) =>
        Object.keys(b.States),
      ),
    );
    for (const [name, step] of Object.entries(PROVISION_STATE_STEPS)) {
      const state = STATES[name] as TaskState;
      const catcher = state.Catch[0]?.Next ?? "";
      // inside the Parallel, a failure ends its branch with $.failedStep; the state after the Parallel publishes it
      expect(STATES[catcher], name).toMatchObject({
        Type: "Pass",
        Parameters: { step, "failure.$": "$.failure" },
        ResultPath: "$.failedStep",
        ...(inBranches.has(name) ? { End: true } : { Next: "PublishProvisioningFailed" }),
      });
    }
    for (const [choice, pass] of [
      ["WarehouseFailed", "PublishWarehouseFailure"],
      ["AirbyteStackFailed", "PublishAirbyteStackFailure"],
    ] as const) {
      expect(STATES[choice]).toMatchObject({ Choices: [{ IsPresent: true, Next: pass }] });
      expect(STATES[pass]).toMatchObject({ ResultPath: "$.failedStep", Next: "PublishProvisioningFailed" });
    }
    const publish = DEFINITION.States.PublishProvisioningFailed as TaskState;
    expect(publish.Next).toBe("ProvisioningFailed");
    expect(publish.Catch[0]?.Next).toBe("ProvisioningFailed");
    expect(DEFINITION.States.ProvisioningFailed).toMatchObject({ Type: "Fail", Error: "ProvisioningFailed" });
  });
});
