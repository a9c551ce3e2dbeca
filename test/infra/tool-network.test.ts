import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { beforeAll, describe, expect, it } from "vitest";
import { TOOL_FACING_ENTRIES } from "../../stacks/tools/network";
import kickstart from "../../tapestry.config";
import { runAwsSolutionsChecks } from "./nag";
import { type CfnResource, type SynthesizedApp, synthesize, TEST_ACCOUNT, TEST_REGION } from "./synth";
import { iamStatementsOf, propertyOf, resourcesOf, WILDCARD_RESOURCE_ACTIONS } from "./template-queries";

/**
 * The tool network (issue 11) in the SST app: a VPC for the self-hosted tools when the config
 * hosts one, the tool-facing functions placed in its private subnets, nothing at all otherwise.
 * Stages "net-new", "net-existing" and "net-none" belong to this file (bundles are per stage).
 */

const CERTIFICATE = "arn:aws:acm:eu-central-1:123456789012:certificate/0f9a3c1e-5b7d-4c2a-9e8f-1a2b3c4d5e6f";

function selfHosted(provisioning: Record<string, unknown>, scheme: "https" | "http"): TapestryConfig {
  const config = structuredClone(kickstart) as unknown as {
    tools: Record<string, { baseUrl: string }>;
  } & Record<string, unknown>;
  const tools = config.tools as { airbyte: { baseUrl: string }; grouparoo: { baseUrl: string } };
  tools.airbyte.baseUrl = `${scheme}://airbyte.rain-shield.example/api/public/v1`;
  tools.grouparoo.baseUrl = `${scheme}://grouparoo.rain-shield.example`;
  return parseConfig({ ...config, provisioning }, "tapestry.config.ts");
}

const NEW_VPC = selfHosted(
  {
    hosting: { airbyte: "self-hosted", grouparoo: "self-hosted" },
    network: { vpc: "new", natGateways: 2 },
    allowedCidrs: ["203.0.113.0/24"],
    certificateArn: CERTIFICATE,
  },
  "https",
);

const EXISTING = {
  vpcId: "vpc-0a1b2c3d4e5f60718",
  publicSubnetIds: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
  privateSubnetIds: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
  egressCidrs: ["198.51.100.7/32", "198.51.100.8/32"],
};
const EXISTING_VPC = selfHosted(
  {
    hosting: { airbyte: "external", grouparoo: "self-hosted" },
    network: { vpc: "existing", ...EXISTING },
    allowedCidrs: ["203.0.113.0/24"],
  },
  "http",
);

let withNewVpc: SynthesizedApp;
let withExistingVpc: SynthesizedApp;
let withoutTools: SynthesizedApp;

beforeAll(async () => {
  withNewVpc = await synthesize(NEW_VPC, "net-new");
  withExistingVpc = await synthesize(EXISTING_VPC, "net-existing");
  withoutTools = await synthesize(parseConfig(structuredClone(kickstart), "tapestry.config.ts"), "net-none");
}, 600_000);

interface PlacedFunction {
  readonly entry: string;
  readonly stack: string;
  readonly role: string;
  readonly vpcConfig: { SubnetIds: unknown[]; SecurityGroupIds: unknown[] } | undefined;
}

/** Every Lambda of the app with its entry point (POWERTOOLS_SERVICE_NAME tapestry-<entry>) and its VpcConfig. */
function functionsOf(app: SynthesizedApp): PlacedFunction[] {
  return app.templates().flatMap(({ stack, json }) =>
    Object.values(json.Resources)
      .filter((resource) => resource.Type === "AWS::Lambda::Function")
      .map((resource) => {
        const properties = resource.Properties as {
          Environment?: { Variables?: Record<string, string> };
          VpcConfig?: { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
          Role: { "Fn::GetAtt": [string, string] };
        };
        return {
          entry: (properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME ?? "").replace(/^tapestry-/, ""),
          stack,
          role: properties.Role["Fn::GetAtt"][0],
          vpcConfig: properties.VpcConfig,
        };
      }),
  );
}

function securityGroupsOf(app: SynthesizedApp): CfnResource[] {
  return resourcesOf(app, "ToolNetwork", "AWS::EC2::SecurityGroup").map((found) => found.resource);
}

const EVERY_RESOURCE_TYPE_OF_A_VPC = [
  "AWS::EC2::VPC",
  "AWS::EC2::Subnet",
  "AWS::EC2::NatGateway",
  "AWS::EC2::EIP",
  "AWS::EC2::InternetGateway",
  "AWS::EC2::FlowLog",
];

describe("without a self-hosted tool", () => {
  it("the app has exactly its six stacks, no network resource, and no function in a VPC", () => {
    expect([...withoutTools.stacks.keys()]).toEqual([
      "Events",
      "Ledger",
      "Pipelines",
      "Provisioning",
      "StatusApi",
      "Alerts",
    ]);
    for (const { json, stack } of withoutTools.templates()) {
      const types = Object.values(json.Resources).map((resource) => resource.Type);
      expect(
        types.filter((type) => type.startsWith("AWS::EC2::")),
        stack,
      ).toEqual([]);
    }
    const functions = functionsOf(withoutTools);
    expect(functions.length).toBeGreaterThan(10);
    expect(functions.filter((fn) => fn.vpcConfig !== undefined)).toEqual([]);
    expect(
      iamStatementsOf(withoutTools).filter((s) => s.actions.some((action) => action.startsWith("ec2:"))),
    ).toEqual([]);
  });
});

describe("a new VPC", () => {
  it("is its own stack between Ledger and Pipelines: two AZs, public and private subnets, a NAT gateway per Elastic IP, flow logs", () => {
    expect([...withNewVpc.stacks.keys()]).toEqual([
      "Events",
      "Ledger",
      "ToolNetwork",
      "Pipelines",
      "Provisioning",
      "StatusApi",
      "Alerts",
    ]);
    const network = withNewVpc.template("ToolNetwork");
    network.resourceCountIs("AWS::EC2::VPC", 1);
    network.resourceCountIs("AWS::EC2::Subnet", 4);
    network.resourceCountIs("AWS::EC2::NatGateway", 2);
    network.resourceCountIs("AWS::EC2::EIP", 2);
    const subnets = resourcesOf(withNewVpc, "ToolNetwork", "AWS::EC2::Subnet").map(
      (found) => found.resource.Properties as { MapPublicIpOnLaunch: boolean; AvailabilityZone: unknown },
    );
    expect(subnets.filter((subnet) => subnet.MapPublicIpOnLaunch).length).toBe(2);
    expect(new Set(subnets.map((subnet) => JSON.stringify(subnet.AvailabilityZone))).size).toBe(2);
    // each NAT gateway is on one of the Elastic IPs made in the stack (their addresses are the egress)
    const eipIds = resourcesOf(withNewVpc, "ToolNetwork", "AWS::EC2::EIP").map((found) => found.id);
    const allocations = resourcesOf(withNewVpc, "ToolNetwork", "AWS::EC2::NatGateway").map(
      (found) =>
        (found.resource.Properties as { AllocationId: { "Fn::GetAtt": [string, string] } }).AllocationId,
    );
    expect(allocations.map((allocation) => allocation["Fn::GetAtt"][0]).sort()).toEqual([...eipIds].sort());
    network.hasResourceProperties("AWS::EC2::FlowLog", {
      ResourceType: "VPC",
      TrafficType: "ALL",
      LogDestinationType: "cloud-watch-logs",
    });
    network.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("makes no Lambda, no custom resource and no asset (the default security group is left alone, nothing uses it)", () => {
    const json = withNewVpc.templates().find((t) => t.stack === "ToolNetwork")?.json;
    const types = Object.values(json?.Resources ?? {}).map((resource) => resource.Type);
    expect(types.filter((type) => type.startsWith("AWS::Lambda::") || type.startsWith("Custom::"))).toEqual(
      [],
    );
    expect(JSON.stringify(json)).not.toContain("AssetParameters");
  });

  it("outputs the egress CIDRs: each NAT Elastic IP as a /32", () => {
    const json = withNewVpc.templates().find((t) => t.stack === "ToolNetwork")?.json;
    const publicIp = (id: string) => ({ "Fn::GetAtt": [id, "PublicIp"] });
    expect(json?.Outputs?.ToolEgressCidrs?.Value).toEqual({
      "Fn::Join": ["", [publicIp("NatAddress1"), "/32,", publicIp("NatAddress2"), "/32"]],
    });
    expect(resourcesOf(withNewVpc, "ToolNetwork", "AWS::EC2::EIP").map((found) => found.id)).toEqual([
      "NatAddress1",
      "NatAddress2",
    ]);
  });

  it("puts exactly the tool-facing functions in the two private subnets with one egress-only security group", () => {
    const functions = functionsOf(withNewVpc);
    const placed = functions.filter((fn) => fn.vpcConfig !== undefined).map((fn) => fn.entry);
    // tool-health arrives with the provision flow of the tool stacks (helper prov-stacks)
    const present = new Set(functions.map((fn) => fn.entry));
    expect(placed.sort()).toEqual(TOOL_FACING_ENTRIES.filter((entry) => present.has(entry)).sort());
    expect(placed).toEqual(
      expect.arrayContaining(["start-step", "poll-step", "cancel-step", "ensure-airbyte"]),
    );
    const privateSubnets = resourcesOf(withNewVpc, "ToolNetwork", "AWS::EC2::Subnet")
      .filter((found) => !(found.resource.Properties as { MapPublicIpOnLaunch: boolean }).MapPublicIpOnLaunch)
      .map((found) => found.id);
    const [group, ...otherGroups] = resourcesOf(withNewVpc, "ToolNetwork", "AWS::EC2::SecurityGroup");
    expect(otherGroups).toEqual([]);
    for (const fn of functions.filter((f) => f.vpcConfig)) {
      const subnets = JSON.stringify(fn.vpcConfig?.SubnetIds);
      expect(fn.vpcConfig?.SubnetIds, fn.entry).toHaveLength(2);
      for (const subnet of privateSubnets) expect(subnets, fn.entry).toContain(subnet);
      expect(fn.vpcConfig?.SecurityGroupIds, fn.entry).toHaveLength(1);
      expect(JSON.stringify(fn.vpcConfig?.SecurityGroupIds), fn.entry).toContain(group?.id);
    }
  });

  it("lets the functions' security group reach HTTPS only (the tools' listeners with a certificate), and admits nothing", () => {
    const [group] = securityGroupsOf(withNewVpc);
    const properties = group?.Properties as {
      SecurityGroupIngress?: unknown;
      SecurityGroupEgress: unknown[];
    };
    expect(properties.SecurityGroupIngress).toBeUndefined();
    expect(properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: "0.0.0.0/0", IpProtocol: "tcp", FromPort: 443, ToPort: 443 }),
    ]);
    withNewVpc.template("ToolNetwork").resourceCountIs("AWS::EC2::SecurityGroupIngress", 0);
  });

  it("grants a placed function's role the network-interface actions, creation only in the private subnets with its group", () => {
    const functions = functionsOf(withNewVpc);
    const statements = iamStatementsOf(withNewVpc);
    const ec2Of = (role: string) =>
      statements
        .filter((s) => s.policyOf.startsWith(`${role.replace(/[0-9A-F]{8}$/, "")}DefaultPolicy`))
        .filter((s) => s.actions.some((action) => action.startsWith("ec2:")))
        .map((s) => ({ actions: [...s.actions].sort(), resources: s.resources }));
    const interfaces = `arn:<partition>:ec2:${TEST_REGION}:${TEST_ACCOUNT}:network-interface/*`;
    for (const fn of functions) {
      const grants = ec2Of(fn.role);
      if (!fn.vpcConfig) {
        expect(grants, fn.entry).toEqual([]);
        continue;
      }
      expect(grants.map((g) => g.actions)).toEqual([
        ["ec2:CreateNetworkInterface"],
        ["ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"],
        ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
      ]);
      const [create, manage, describe] = grants;
      expect(create?.resources[0]).toBe(interfaces);
      expect(create?.resources.slice(1).map((r) => r.replace(/:(subnet|security-group)\/.*/, ":$1"))).toEqual(
        [
          `arn:<partition>:ec2:${TEST_REGION}:${TEST_ACCOUNT}:subnet`,
          `arn:<partition>:ec2:${TEST_REGION}:${TEST_ACCOUNT}:subnet`,
          `arn:<partition>:ec2:${TEST_REGION}:${TEST_ACCOUNT}:security-group`,
        ],
      );
      expect(manage?.resources).toEqual([interfaces]);
      expect(describe?.resources).toEqual(["*"]);
    }
    for (const action of ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]) {
      expect(WILDCARD_RESOURCE_ACTIONS[action], action).toMatch(/.{20,}/);
    }
  });

  it("passes cdk-nag AwsSolutions with a reason for every suppression", () => {
    const findings = runAwsSolutionsChecks(withNewVpc);
    expect(findings.unsuppressed).toEqual([]);
    expect(findings.ruleErrors).toEqual([]);
    for (const suppression of findings.suppressed) expect(suppression.reason.length).toBeGreaterThan(60);
  });
});

describe("an existing VPC", () => {
  it("is imported by id: no VPC, subnet or NAT is made, only the functions' security group in it", () => {
    for (const type of EVERY_RESOURCE_TYPE_OF_A_VPC) {
      withExistingVpc.template("ToolNetwork").resourceCountIs(type, 0);
    }
    const [group, ...others] = securityGroupsOf(withExistingVpc);
    expect(others).toEqual([]);
    expect(group?.Properties?.VpcId).toBe(EXISTING.vpcId);
    const json = withExistingVpc.templates().find((t) => t.stack === "ToolNetwork")?.json;
    expect(json?.Outputs?.ToolEgressCidrs?.Value).toBe(EXISTING.egressCidrs.join(","));
  });

  it("places the tool-facing functions in the configured private subnets, and opens port 80 for the plain-HTTP tools", () => {
    const placed = functionsOf(withExistingVpc).filter((fn) => fn.vpcConfig);
    expect(placed.map((fn) => fn.entry)).toEqual(expect.arrayContaining(["start-step", "poll-step"]));
    for (const fn of placed) expect(fn.vpcConfig?.SubnetIds).toEqual(EXISTING.privateSubnetIds);
    const [group] = securityGroupsOf(withExistingVpc);
    const egress = propertyOf<{ FromPort: number }[]>(group, "SecurityGroupEgress");
    expect(egress.map((rule) => rule.FromPort).sort((a, b) => a - b)).toEqual([80, 443]);
  });

  it("passes cdk-nag AwsSolutions", () => {
    const findings = runAwsSolutionsChecks(withExistingVpc);
    expect(findings.unsuppressed).toEqual([]);
    expect(findings.ruleErrors).toEqual([]);
  });
});

describe("the self-hosted Airbyte host on the stage's alarms and dashboard", () => {
  const hostAlarms = (app: SynthesizedApp) =>
    resourcesOf(app, "Alerts", "AWS::CloudWatch::Alarm")
      .map((found) => found.resource.Properties as Record<string, unknown>)
      .filter((p) => p.Namespace === "CWAgent");

  it("alarms on its CPU, memory and disk by the ToolHost dimension its agent rolls up by, and tells the topic", () => {
    const alarms = hostAlarms(withNewVpc);
    expect(alarms.map((a) => [a.AlarmName, a.MetricName, a.Threshold, a.EvaluationPeriods])).toEqual([
      ["tapestry-net-new-health-airbyte-host-cpu", "cpu_usage_active", 90, 3],
      ["tapestry-net-new-health-airbyte-host-memory", "mem_used_percent", 90, 3],
      ["tapestry-net-new-health-airbyte-host-disk", "disk_used_percent", 85, 1],
    ]);
    for (const alarm of alarms) {
      expect(alarm.Dimensions).toEqual([{ Name: "ToolHost", Value: "tapestry-net-new-airbyte" }]);
      expect(alarm).toMatchObject({
        Statistic: "Maximum",
        Period: 300,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
        AlarmActions: [expect.anything()],
      });
    }
    const [dashboard] = resourcesOf(withNewVpc, "Alerts", "AWS::CloudWatch::Dashboard");
    expect(JSON.stringify(dashboard?.resource.Properties)).toContain("Airbyte host: CPU, memory, disk (%)");
  });

  it("has none where Airbyte is not self-hosted", () => {
    expect(hostAlarms(withExistingVpc)).toEqual([]);
    expect(hostAlarms(withoutTools)).toEqual([]);
  });
});
