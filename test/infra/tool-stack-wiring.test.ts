/**
 * The Provisioning stack's tool-stack wiring with hand-made templates (as tools-network's
 * stacks/tools/templates.ts will build them): the tool-stack function gets their variables and
 * their grant, the health function reads exactly the Airbyte host's two credential secrets, and
 * the deprovision state machine invokes its two functions.
 */
import { parseConfig } from "@tapestry/core/config";
import { Stack } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setToolTemplatesForTests } from "../../stacks/provisioning";
import type { ToolStackTemplates } from "../../stacks/tools/contracts";
import { selfHostedKickstart } from "../support/self-hosted-config";
import { type SynthesizedApp, synthesize, TEST_ACCOUNT, TEST_REGION } from "./synth";
import { functionsOf, iamStatementsOf, logicalIdOf, resourcesOf } from "./template-queries";

const SERVICE_ROLE = `arn:aws:iam::${TEST_ACCOUNT}:role/tapestry-test-tool-stacks`;
let app: SynthesizedApp;

beforeAll(async () => {
  setToolTemplatesForTests((): ToolStackTemplates => {
    const stacks = {
      airbyte: {
        stackName: "tapestry-test-airbyte",
        templateUrl: "https://cdk-assets.s3.eu-central-1.amazonaws.com/airbyte.template.json",
        parameters: { VpcId: "vpc-0123456789abcdef0" },
      },
      grouparoo: {
        stackName: "tapestry-test-grouparoo",
        templateUrl: "https://cdk-assets.s3.eu-central-1.amazonaws.com/grouparoo.template.json",
        parameters: { VpcId: "vpc-0123456789abcdef0" },
      },
    };
    return {
      stacks,
      serviceRoleArn: SERVICE_ROLE,
      environment: {
        TAPESTRY_TOOL_STACKS: JSON.stringify(stacks),
        TAPESTRY_TOOL_STACKS_ROLE_ARN: SERVICE_ROLE,
      },
      grantDeploy: (fn: IFunction) => {
        fn.addToRolePolicy(
          new PolicyStatement({
            actions: ["cloudformation:CreateStack", "cloudformation:DescribeStacks"],
            resources: Object.values(stacks).map((s) =>
              Stack.of(fn).formatArn({
                service: "cloudformation",
                resource: "stack",
                resourceName: `${s.stackName}/*`,
              }),
            ),
          }),
        );
      },
    };
  });
  app = await synthesize(parseConfig(selfHostedKickstart()), "test");
}, 180_000);
afterAll(() => setToolTemplatesForTests(undefined));

describe("the Provisioning stack with both tools self-hosted", () => {
  it("gives the tool-stack function the templates' variables and their deploy grant", () => {
    const id = logicalIdOf(app, "Provisioning", "AWS::Lambda::Function", "ToolStack");
    const fn = functionsOf(app, "Provisioning").find((f) => f.id === id);
    const variables =
      (fn?.resource.Properties?.Environment as { Variables?: Record<string, string> } | undefined)
        ?.Variables ?? {};
    expect(JSON.parse(variables.TAPESTRY_TOOL_STACKS ?? "{}")).toMatchObject({
      airbyte: { stackName: "tapestry-test-airbyte" },
      grouparoo: { stackName: "tapestry-test-grouparoo" },
    });
    expect(variables.TAPESTRY_TOOL_STACKS_ROLE_ARN).toBe(SERVICE_ROLE);
    const cfn = iamStatementsOf(app).filter((s) => s.actions.some((a) => a.startsWith("cloudformation:")));
    expect(cfn.map((s) => s.policyOf.replace(/RoleDefaultPolicy.*/, ""))).toEqual(["ToolStack"]);
  });

  it("lets the health function read exactly the two secrets of tools.airbyte.auth, nothing else", () => {
    const ssm = iamStatementsOf(app).filter(
      (s) => s.policyOf.startsWith("ToolHealth") && s.actions.some((a) => a.startsWith("ssm:")),
    );
    expect(ssm.flatMap((s) => s.actions)).toEqual(["ssm:GetParameter"]);
    expect(ssm.flatMap((s) => s.resources).sort()).toEqual(
      ["AIRBYTE_CLIENT_ID", "AIRBYTE_CLIENT_SECRET"].map(
        (name) => `arn:<partition>:ssm:${TEST_REGION}:${TEST_ACCOUNT}:parameter/tapestry/test/${name}`,
      ),
    );
  });

  it("deploys the deprovision state machine, invoking exactly its two functions", () => {
    const machines = resourcesOf(app, "Provisioning", "AWS::StepFunctions::StateMachine").map(
      (m) => m.resource.Properties?.StateMachineName,
    );
    expect(machines.sort()).toEqual(["tapestry-test-deprovision", "tapestry-test-provision"]);
    const invoke = iamStatementsOf(app).filter(
      (s) => s.policyOf.startsWith("DeprovisionRole") && s.actions.includes("lambda:InvokeFunction"),
    );
    expect(invoke.flatMap((s) => s.resources).sort()).toEqual(
      ["DeprovisioningRun", "ToolStack"]
        .map((id) => `arn-of:${logicalIdOf(app, "Provisioning", "AWS::Lambda::Function", id)}`)
        .sort(),
    );
  });
});
