import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import {
  App,
  CfnOutput,
  CfnParameter,
  CfnWaitConditionHandle,
  Stack,
  type StackProps,
  Token,
} from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { Asset } from "aws-cdk-lib/aws-s3-assets";
import type { Construct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Deployment, deploymentFor } from "../../stacks/deployment";
import { TOOL_STACK_BUILDERS } from "../../stacks/tools/builders";
import type { ToolStackTemplates } from "../../stacks/tools/contracts";
import { createToolNetwork } from "../../stacks/tools/network";
import {
  TOOL_STACK_DEPLOY_ACTIONS,
  type ToolStackBuilders,
  toolStackTemplates,
} from "../../stacks/tools/templates";
import kickstart from "../../tapestry.config";
import { runAwsSolutionsChecks } from "./nag";
import { TEST_ACCOUNT, TEST_REGION } from "./synth";

/**
 * The tool stacks shipped as template assets (issue 11, ADR 0022): synthesized in their own App,
 * each template an S3 asset of the stack that deploys them, their Parameters filled from the app,
 * the CloudFormation service role and the deployer's grants. The real Airbyte and Grouparoo stacks
 * are their helpers' (test/infra/tools-*.test.ts); here minimal stand-ins declare the contract's
 * Parameters and Outputs (shared-s17.md), so what is tested is the shipping, not the stacks.
 */

const NETWORK_PARAMETERS = ["VpcId", "PublicSubnetIds", "PrivateSubnetIds", "ControlPlaneEgressCidrs"];
const AIRBYTE_PARAMETERS = [
  ...NETWORK_PARAMETERS,
  "AirbyteClientIdParameter",
  "AirbyteClientSecretParameter",
];
const GROUPAROO_PARAMETERS = [...NETWORK_PARAMETERS, "GrouparooConfigBucket", "SecretParameterPrefix"];

interface StandInProps extends StackProps {
  readonly parameters: readonly string[];
  readonly outputs: readonly string[];
  /** a stand-in that breaks the rule: a file asset inside the tool stack */
  readonly withAsset?: boolean;
}

/** The contract's surface of a tool stack, and one resource (a template needs one). */
class StandInToolStack extends Stack {
  constructor(scope: Construct, id: string, props: StandInProps) {
    super(scope, id, props);
    for (const name of props.parameters) new CfnParameter(this, name, { type: "String" });
    // a parameter with a default need not be passed (as the AMI's SSM parameter)
    new CfnParameter(this, "LatestAmi", { type: "String", default: "/aws/service/ami" });
    new CfnWaitConditionHandle(this, "Placeholder");
    for (const name of props.outputs) new CfnOutput(this, name, { value: name });
    if (props.withAsset) new Asset(this, "Nested", { path: __filename });
  }
}

function standIns(
  overrides: { airbyte?: readonly string[]; grouparoo?: readonly string[]; withAsset?: boolean } = {},
): ToolStackBuilders {
  return {
    airbyte: (app, stackName, _deployment, env) =>
      new StandInToolStack(app, stackName, {
        stackName,
        env,
        parameters: overrides.airbyte ?? AIRBYTE_PARAMETERS,
        outputs: ["Url", "LoadBalancerDnsName", "HttpOnly", "InstanceId", "BucketName"],
        withAsset: overrides.withAsset,
      }),
    grouparoo: (app, stackName, _deployment, env) =>
      new StandInToolStack(app, stackName, {
        stackName,
        env,
        parameters: overrides.grouparoo ?? GROUPAROO_PARAMETERS,
        outputs: [
          "Url",
          "LoadBalancerDnsName",
          "HttpOnly",
          "ClusterName",
          "WebServiceName",
          "WorkerServiceName",
        ],
      }),
  };
}

const CERTIFICATE = "arn:aws:acm:eu-central-1:123456789012:certificate/0f9a3c1e-5b7d-4c2a-9e8f-1a2b3c4d5e6f";

function configHosting(
  hosting: { airbyte: string; grouparoo: string },
  extra: Record<string, unknown> = {},
): TapestryConfig {
  const config = structuredClone(kickstart) as unknown as Record<string, unknown> & {
    tools: { airbyte: { baseUrl: string }; grouparoo: { baseUrl: string } };
  };
  config.tools.airbyte.baseUrl = "https://airbyte.rain-shield.example/api/public/v1";
  return parseConfig(
    {
      ...config,
      provisioning: {
        hosting,
        network: { vpc: "new", natGateways: 1 },
        allowedCidrs: ["203.0.113.0/24"],
        certificateArn: CERTIFICATE,
        ...extra,
      },
    },
    "tapestry.config.ts",
  );
}

interface Shipped {
  readonly app: App;
  readonly stack: Stack;
  readonly deployer: Stack;
  readonly templates: ToolStackTemplates | undefined;
  readonly outdir: string;
  /** the tool stacks the builders made */
  readonly built: readonly Stack[];
}

/** The app's side: the network and the templates in one stack, a deployer function in another. */
function ship(config: TapestryConfig, stage: string, standInBuilders = standIns()): Shipped {
  const built: Stack[] = [];
  const builders: ToolStackBuilders = {
    airbyte: (...args) => record(built, standInBuilders.airbyte(...args)),
    grouparoo: (...args) => record(built, standInBuilders.grouparoo(...args)),
  };
  const app = new App();
  const env = { account: TEST_ACCOUNT, region: TEST_REGION };
  const stack = new Stack(app, "Provisioning", { env });
  const deployment: Deployment = deploymentFor(stage, config);
  const network = createToolNetwork(stack, deployment);
  if (!network) throw new Error("the config self-hosts no tool");
  const outdir = mkdtempSync(join(tmpdir(), "tool-stacks-"));
  outdirs.push(outdir);
  const templates = toolStackTemplates(
    stack,
    { deployment, network, grouparooConfigBucketName: "tapestry-tt-grouparoo-config", outdir },
    builders,
  );
  const deployer = new Stack(app, "Deployer", { env });
  const fn = new LambdaFunction(deployer, "ToolStack", {
    runtime: Runtime.NODEJS_22_X,
    handler: "index.handler",
    code: Code.fromInline("export const handler = async () => {};"),
  });
  templates?.grantDeploy(fn);
  return { app, stack, deployer, templates, outdir, built };
}

function record(built: Stack[], stack: Stack): Stack {
  built.push(stack);
  return stack;
}

let both: Shipped;
const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

beforeAll(() => {
  both = ship(configHosting({ airbyte: "self-hosted", grouparoo: "self-hosted" }), "tt");
});

interface AssetTemplate {
  readonly Parameters?: Record<string, { Default?: unknown }>;
  readonly Rules?: unknown;
  readonly Resources: Record<string, { Type: string }>;
}

/** The template file the asset of `tool` ships (in the tool stacks' own cloud assembly). */
function shippedTemplate(shipped: Shipped, stackName: string): AssetTemplate {
  return JSON.parse(readFileSync(join(shipped.outdir, `${stackName}.template.json`), "utf8"));
}

describe("the tool stacks as template assets", () => {
  it("ships one template per self-hosted tool, named tapestry-<stage>-<tool>, at its asset's S3 https URL", () => {
    const stacks = both.templates?.stacks ?? {};
    expect(Object.keys(stacks)).toEqual(["airbyte", "grouparoo"]);
    expect(stacks.airbyte?.stackName).toBe("tapestry-tt-airbyte");
    expect(stacks.grouparoo?.stackName).toBe("tapestry-tt-grouparoo");
    for (const shipped of Object.values(stacks)) {
      const url = both.stack.resolve(shipped.templateUrl) as { "Fn::Join": [string, unknown[]] } | string;
      const text = JSON.stringify(url);
      expect(text).toContain("https://s3.");
      expect(text).toMatch(/cdk-hnb659fds-assets-123456789012-eu-central-1\/[0-9a-f]{64}\.json/);
    }
    // the app's asset manifest lists both templates for upload with the app
    const assembly = both.app.synth();
    const manifest = JSON.parse(
      readFileSync(join(assembly.directory, "Provisioning.assets.json"), "utf8"),
    ) as { files: Record<string, { displayName?: string; source: { path: string } }> };
    const shipped = Object.values(manifest.files).map((file) => file.displayName);
    expect(shipped).toEqual(
      expect.arrayContaining(["tapestry-tt-airbyte template", "tapestry-tt-grouparoo template"]),
    );
  });

  it("builds each tool stack for the app's region, leaving the account to the deployment", () => {
    for (const tool of ["airbyte", "grouparoo"] as const) {
      const built = both.built.find((stack) => stack.stackName === both.templates?.stacks[tool]?.stackName);
      expect(built?.region, tool).toBe(TEST_REGION);
      expect(Token.isUnresolved(built?.account), tool).toBe(true);
    }
  });

  it("ships templates that deploy alone: no bootstrap parameter or rule, no asset, no Lambda", () => {
    for (const stackName of ["tapestry-tt-airbyte", "tapestry-tt-grouparoo"]) {
      const template = shippedTemplate(both, stackName);
      expect(Object.keys(template.Parameters ?? {})).not.toContain("BootstrapVersion");
      expect(template.Rules).toBeUndefined();
      const text = JSON.stringify(template);
      expect(text).not.toMatch(/AssetParameters|cdk-hnb659fds|\.zip/);
      expect(Object.values(template.Resources).map((r) => r.Type)).not.toContain("AWS::Lambda::Function");
    }
  });

  it("refuses a tool stack that carries an asset of its own, at synth", () => {
    expect(() =>
      ship(
        configHosting({ airbyte: "self-hosted", grouparoo: "external" }),
        "tt-asset",
        standIns({ withAsset: true }),
      ),
    ).toThrow(/asset/i);
  });

  it("passes exactly the Parameters each template declares without a default", () => {
    for (const [tool, expected] of [
      ["airbyte", AIRBYTE_PARAMETERS],
      ["grouparoo", GROUPAROO_PARAMETERS],
    ] as const) {
      const shipped = both.templates?.stacks[tool];
      const declared = shippedTemplate(both, shipped?.stackName ?? "?").Parameters ?? {};
      const required = Object.entries(declared)
        .filter(([, parameter]) => parameter.Default === undefined)
        .map(([name]) => name);
      expect(Object.keys(shipped?.parameters ?? {}).sort()).toEqual([...required].sort());
      expect(required.sort()).toEqual([...expected].sort());
    }
  });

  it("fills them from the app: the network, Airbyte's two credential parameters, Grouparoo's bucket and the secrets' path", () => {
    const resolved = (tool: "airbyte" | "grouparoo") =>
      both.stack.resolve(both.templates?.stacks[tool]?.parameters) as Record<string, unknown>;
    const airbyte = resolved("airbyte");
    expect(airbyte.AirbyteClientIdParameter).toBe("/tapestry/tt/AIRBYTE_CLIENT_ID");
    expect(airbyte.AirbyteClientSecretParameter).toBe("/tapestry/tt/AIRBYTE_CLIENT_SECRET");
    expect(airbyte.VpcId).toEqual({ Ref: expect.stringMatching(/^Vpc[0-9A-F]{8}$/) });
    const subnets = (value: unknown) =>
      ((value as { "Fn::Join": [string, { Ref: string }[]] })["Fn::Join"][1] ?? []).map((part) => part.Ref);
    expect(subnets(airbyte.PublicSubnetIds)).toEqual([
      expect.stringMatching(/^VpcpublicSubnet1Subnet/),
      expect.stringMatching(/^VpcpublicSubnet2Subnet/),
    ]);
    expect(subnets(airbyte.PrivateSubnetIds)).toEqual([
      expect.stringMatching(/^VpcprivateSubnet1Subnet/),
      expect.stringMatching(/^VpcprivateSubnet2Subnet/),
    ]);
    expect(airbyte.ControlPlaneEgressCidrs).toEqual({
      "Fn::Join": ["", [{ "Fn::GetAtt": ["NatAddress1", "PublicIp"] }, "/32"]],
    });
    const grouparoo = resolved("grouparoo");
    expect(grouparoo.GrouparooConfigBucket).toBe("tapestry-tt-grouparoo-config");
    expect(grouparoo.SecretParameterPrefix).toBe("/tapestry/tt/");
    expect(grouparoo.VpcId).toEqual(airbyte.VpcId);
  });

  it("refuses, naming the parameter, a template whose Parameters and the app's disagree", () => {
    expect(() =>
      ship(
        configHosting({ airbyte: "self-hosted", grouparoo: "external" }),
        "tt-missing",
        standIns({ airbyte: [...AIRBYTE_PARAMETERS, "SomethingNew"] }),
      ),
    ).toThrow(/tapestry-tt-missing-airbyte.*SomethingNew is declared without a default but never passed/);
    expect(() =>
      ship(
        configHosting({ airbyte: "self-hosted", grouparoo: "external" }),
        "tt-unknown",
        standIns({ airbyte: NETWORK_PARAMETERS }),
      ),
    ).toThrow(/AirbyteClientIdParameter is passed but not declared/);
  });

  it("ships only the self-hosted tool's template, and nothing when none is", () => {
    const grouparooOnly = ship(configHosting({ airbyte: "external", grouparoo: "self-hosted" }), "tt-one");
    expect(Object.keys(grouparooOnly.templates?.stacks ?? {})).toEqual(["grouparoo"]);
    Template.fromStack(grouparooOnly.stack).resourceCountIs("AWS::IAM::Role", 2); // service role, flow logs
    const deployment = deploymentFor(
      "tt-none",
      parseConfig(structuredClone(kickstart), "tapestry.config.ts"),
    );
    const stack = new Stack(new App(), "Provisioning");
    expect(createToolNetwork(stack, deployment)).toBeUndefined();
    // the kickstart hosts nothing: no template, no role, nothing added to the stack
    const templates = toolStackTemplates(
      stack,
      { deployment, network: undefined, grouparooConfigBucketName: "unused" },
      standIns(),
    );
    expect(templates).toBeUndefined();
    expect(stack.node.children).toEqual([]);
  });

  it("gives the deployer function its variables: the stacks as JSON and the service role's ARN", () => {
    const environment = both.stack.resolve(both.templates?.environment) as Record<string, unknown>;
    expect(Object.keys(environment).sort()).toEqual([
      "TAPESTRY_TOOL_STACKS",
      "TAPESTRY_TOOL_STACKS_ROLE_ARN",
    ]);
    expect(environment.TAPESTRY_TOOL_STACKS_ROLE_ARN).toEqual({
      "Fn::GetAtt": [expect.stringMatching(/^ToolStacksServiceRole/), "Arn"],
    });
    const json = JSON.stringify(environment.TAPESTRY_TOOL_STACKS);
    for (const text of [
      "tapestry-tt-airbyte",
      "tapestry-tt-grouparoo",
      "templateUrl",
      "AirbyteClientIdParameter",
    ]) {
      expect(json).toContain(text);
    }
  });
});

describe("the deployer's grants", () => {
  interface PolicyStatementJson {
    Action: string | string[];
    Resource: unknown;
    Effect: string;
  }
  const statements = (stack: Stack, rolePrefix: string): PolicyStatementJson[] => {
    const policies = Template.fromStack(stack).findResources("AWS::IAM::Policy");
    return Object.entries(policies)
      .filter(([id]) => id.startsWith(rolePrefix))
      .flatMap(
        ([, policy]) =>
          (policy as { Properties: { PolicyDocument: { Statement: PolicyStatementJson[] } } }).Properties
            .PolicyDocument.Statement,
      );
  };

  it("may create, update, delete and describe exactly the two tool stacks, pass only the service role, read only the two templates", () => {
    const granted = statements(both.deployer, "ToolStackServiceRoleDefaultPolicy");
    expect(granted.map((s) => [s.Action].flat().sort())).toEqual([
      [...TOOL_STACK_DEPLOY_ACTIONS].sort(),
      ["iam:PassRole"],
      ["s3:GetObject"],
    ]);
    const [cloudformation, passRole, templates] = granted;
    const text = (value: unknown) => JSON.stringify(value);
    expect([cloudformation?.Resource].flat().map(text)).toEqual([
      expect.stringContaining(":stack/tapestry-tt-airbyte/*"),
      expect.stringContaining(":stack/tapestry-tt-grouparoo/*"),
    ]);
    expect(text(passRole?.Resource)).toMatch(/ToolStacksServiceRole/);
    // the stacks' ARNs end in their ids: suppressed for cdk-nag with the reason, nothing else is
    const onDeployer = runAwsSolutionsChecks({ stacks: new Map([["Deployer", both.deployer]]) });
    expect(onDeployer.unsuppressed.filter((finding) => finding.includes("IAM5"))).toEqual([]);
    expect(
      onDeployer.suppressed.filter((s) => s.ruleId === "AwsSolutions-IAM5").map((s) => s.reason),
    ).toEqual([
      expect.stringMatching(/stack\/tapestry-tt-airbyte\/\*\].*names the two tool stacks/),
      expect.stringMatching(/stack\/tapestry-tt-grouparoo\/\*\].*names the two tool stacks/),
    ]);
    const objects = [templates?.Resource].flat().map(text);
    expect(objects).toHaveLength(2);
    for (const object of objects) expect(object).toMatch(/cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.json/);
  });
});

describe("the CloudFormation service role", () => {
  const roleStatements = (shipped: Shipped) => {
    const template = Template.fromStack(shipped.stack);
    const roles = template.findResources("AWS::IAM::Role");
    const [roleId] = Object.keys(roles).filter((id) => /^ToolStacksServiceRole[0-9A-F]{8}$/.test(id));
    const policies = template.findResources("AWS::IAM::Policy");
    const document = Object.entries(policies).find(([id]) =>
      id.startsWith("ToolStacksServiceRoleDefaultPolicy"),
    )?.[1] as {
      Properties: {
        PolicyDocument: { Statement: { Action: string[]; Resource: unknown; Condition?: unknown }[] };
      };
    };
    return { role: roles[roleId ?? ""], statements: document.Properties.PolicyDocument.Statement };
  };

  it("can be assumed by CloudFormation only", () => {
    const { role } = roleStatements(both);
    expect(role?.Properties?.AssumeRolePolicyDocument?.Statement).toEqual([
      { Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "cloudformation.amazonaws.com" } },
    ]);
  });

  it("never allows every action of a service, and limits IAM to the stacks' names (and service-linked roles of four services)", () => {
    const { statements } = roleStatements(both);
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) expect(action).not.toMatch(/(^\*$|:\*$)/);
    }
    const iam = statements.filter((s) => [s.Action].flat().some((action) => action.startsWith("iam:")));
    const resources = iam.map((s) => JSON.stringify(s.Resource));
    expect(resources).toEqual([
      expect.stringMatching(/:role\/tapestry-tt-\*"/),
      expect.stringMatching(/:instance-profile\/tapestry-tt-\*"/),
      expect.stringMatching(/:role\/aws-service-role\/\*"/),
    ]);
    expect(iam[2]?.Action).toBe("iam:CreateServiceLinkedRole");
    expect(iam[2]?.Condition).toEqual({
      StringEquals: {
        "iam:AWSServiceName": [
          "elasticloadbalancing.amazonaws.com",
          "ecs.amazonaws.com",
          "rds.amazonaws.com",
          "elasticache.amazonaws.com",
        ],
      },
    });
    const s3 = statements.find((s) => [s.Action].flat().includes("s3:CreateBucket"));
    expect(JSON.stringify(s3?.Resource)).toMatch(/:s3:::tapestry-tt-\*"/);
  });

  it("may change DNS records only in the configured hosted zone, and none without one", () => {
    const route53 = (shipped: Shipped) =>
      roleStatements(shipped).statements.filter((s) =>
        [s.Action].flat().some((a) => a.startsWith("route53:")),
      );
    expect(route53(both)).toEqual([]);
    const withZone = ship(
      configHosting(
        { airbyte: "self-hosted", grouparoo: "external" },
        { hostedZone: { id: "Z0123456789ABCDEFGHIJ", name: "rain-shield.example" } },
      ),
      "tt-zone",
    );
    const [records, changes] = route53(withZone);
    expect(JSON.stringify(records?.Resource)).toContain(":route53:::hostedzone/Z0123456789ABCDEFGHIJ");
    expect([records?.Action].flat()).toContain("route53:ChangeResourceRecordSets");
    expect(changes?.Action).toBe("route53:GetChange");
  });

  it("passes cdk-nag AwsSolutions: every finding on the role suppressed with its reason", () => {
    const findings = runAwsSolutionsChecks({ stacks: new Map([["Provisioning", both.stack]]) });
    expect(findings.unsuppressed).toEqual([]);
    expect(findings.ruleErrors).toEqual([]);
    const onRole = findings.suppressed.filter((s) => s.path.includes("ToolStacksServiceRole"));
    expect(onRole.map((s) => s.ruleId)).toContain("AwsSolutions-IAM5");
    for (const suppression of findings.suppressed) expect(suppression.reason.length).toBeGreaterThan(60);
  });
});

describe("the real tool stacks (stacks/tools/builders.ts)", () => {
  let real: Shipped;
  beforeAll(() => {
    real = ship(
      configHosting({ airbyte: "self-hosted", grouparoo: "self-hosted" }),
      "tt-real",
      TOOL_STACK_BUILDERS,
    );
  });

  it("get every Parameter they declare without a default, and only those", () => {
    for (const tool of ["airbyte", "grouparoo"] as const) {
      const shipped = real.templates?.stacks[tool];
      const declared = shippedTemplate(real, shipped?.stackName ?? "?").Parameters ?? {};
      const required = Object.entries(declared)
        .filter(([, parameter]) => parameter.Default === undefined)
        .map(([name]) => name)
        .sort();
      expect(Object.keys(shipped?.parameters ?? {}).sort(), tool).toEqual(required);
      expect(required, tool).toEqual(
        [...(tool === "airbyte" ? AIRBYTE_PARAMETERS : GROUPAROO_PARAMETERS)].sort(),
      );
    }
  });

  it("ship templates that deploy alone: no bootstrap rule, no asset, no Lambda, no custom resource", () => {
    for (const tool of ["airbyte", "grouparoo"] as const) {
      const template = shippedTemplate(real, real.templates?.stacks[tool]?.stackName ?? "?");
      expect(Object.keys(template.Parameters ?? {}), tool).not.toContain("BootstrapVersion");
      expect(template.Rules, tool).toBeUndefined();
      expect(JSON.stringify(template), tool).not.toMatch(/AssetParameters|cdk-hnb659fds/);
      const types = Object.values(template.Resources).map((resource) => resource.Type);
      expect(
        types.filter((type) => type === "AWS::Lambda::Function" || type.startsWith("Custom::")),
        tool,
      ).toEqual([]);
    }
  });

  it("leave the stack that ships them clean for cdk-nag", () => {
    const findings = runAwsSolutionsChecks({ stacks: new Map([["Provisioning", real.stack]]) });
    expect(findings.unsuppressed).toEqual([]);
    expect(findings.ruleErrors).toEqual([]);
  });
});
