import { selfHostedTools, type TapestryConfig } from "@tapestry/core/config";
import { Fn, RemovalPolicy, type Stack } from "aws-cdk-lib";
import {
  CfnEIP,
  FlowLogDestination,
  FlowLogTrafficType,
  type ISecurityGroup,
  type ISubnet,
  type IVpc,
  NatProvider,
  Peer,
  Port,
  SecurityGroup,
  Subnet,
  SubnetType,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import { type IRole, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { NagSuppressions } from "cdk-nag";
import type { Deployment } from "../deployment";
import type { EntryPoint } from "../lambda";

/**
 * The functions that call the tools over HTTP. With a self-hosted tool they run in the network's
 * private subnets: the tools' load balancers admit only `allowedCidrs` and the NAT gateways'
 * addresses, and a Lambda outside a VPC has no fixed address. Every other function stays outside
 * (no NAT charge for its AWS calls). `tool-health` is the health check's entry (helper prov-stacks);
 * `await-webhook` polls the job when its webhook came first.
 */
export const TOOL_FACING_ENTRIES: readonly (EntryPoint | "tool-health")[] = [
  "start-step",
  "poll-step",
  "cancel-step",
  "await-webhook",
  "reconcile-run",
  "webhook-receiver",
  "ensure-airbyte",
  "tool-health",
];

/** The VPC the self-hosted tools run in, and where the control plane's tool-facing functions sit. */
export interface ToolNetwork {
  readonly vpc: IVpc;
  /** two, in two AZs: the load balancers */
  readonly publicSubnetIds: readonly string[];
  /** two, in two AZs, routed through NAT: the hosts, the tasks, the databases, the tool-facing functions */
  readonly privateSubnets: readonly ISubnet[];
  /** the control plane's public egress (the NAT gateways' /32s, or the configured CIDRs of an existing VPC) */
  readonly egressCidrs: readonly string[];
  /** the tool-facing functions' one security group: no ingress, egress to the tools' ports */
  readonly functionSecurityGroup: ISecurityGroup;
}

/**
 * The network for the deployment's self-hosted tools, or undefined when it hosts none (then no
 * resource is made and no function moves). For `vpc: "new"`: two AZs, public and private subnets,
 * `natGateways` NAT gateways on Elastic IPs made here (their addresses are the egress CIDRs), flow
 * logs of rejected and accepted traffic to a log group. For `vpc: "existing"`: the configured VPC
 * and subnets, imported by id without a lookup (the synth stays offline).
 */
export function createToolNetwork(stack: Stack, deployment: Deployment): ToolNetwork | undefined {
  const provisioning = deployment.config.provisioning;
  if (!provisioning || selfHostedTools(deployment.config).length === 0) return undefined;
  const network = provisioning.network;
  const placed =
    network.vpc === "new"
      ? newVpc(stack, deployment, network.natGateways)
      : existingVpc(
          stack,
          network.vpcId,
          network.publicSubnetIds,
          network.privateSubnetIds,
          network.egressCidrs,
        );
  const functionSecurityGroup = new SecurityGroup(stack, "ToolFacingFunctions", {
    vpc: placed.vpc,
    description: `Tapestry ${deployment.stage}: the functions that call the tools (egress only)`,
    allowAllOutbound: false,
  });
  for (const port of egressPorts(deployment.config)) {
    functionSecurityGroup.addEgressRule(
      Peer.anyIpv4(),
      Port.tcp(port),
      `to the tools and AWS APIs on ${port}`,
    );
  }
  const toolNetwork: ToolNetwork = { ...placed, functionSecurityGroup };
  networks.set(deployment, toolNetwork);
  return toolNetwork;
}

/** The network `createToolNetwork` made for this deployment, if any. */
export function toolNetworkOf(deployment: Deployment): ToolNetwork | undefined {
  return networks.get(deployment);
}

const networks = new WeakMap<Deployment, ToolNetwork>();

/**
 * Where a function runs: in the private subnets with the tool-facing security group when it calls
 * the tools and the deployment has a tool network; nowhere particular (no VPC) otherwise.
 */
export function placementOf(
  deployment: Deployment,
  entry: EntryPoint,
): { readonly network: ToolNetwork; readonly subnets: readonly ISubnet[] } | undefined {
  const network = toolNetworkOf(deployment);
  if (!network || !TOOL_FACING_ENTRIES.includes(entry)) return undefined;
  return { network, subnets: network.privateSubnets };
}

/**
 * What Lambda needs of a function's role to attach it to the private subnets (the actions of
 * AWSLambdaVPCAccessExecutionRole, without its logs:* on every group): network interfaces created
 * only in the network's private subnets with its security group; deleted and re-addressed by
 * network-interface ARN (Lambda names no interface in advance); the two Describe calls on "*",
 * which they require.
 */
export function allowNetworkInterfaces(stack: Stack, role: IRole, network: ToolNetwork): void {
  const arn = (resource: string) => stack.formatArn({ service: "ec2", resource, resourceName: "*" });
  const interfaces = arn("network-interface");
  const ec2Arn = (resource: string, id: string) =>
    stack.formatArn({ service: "ec2", resource, resourceName: id });
  const statements = [
    {
      actions: ["ec2:CreateNetworkInterface"],
      resources: [
        interfaces,
        ...network.privateSubnets.map((subnet) => ec2Arn("subnet", subnet.subnetId)),
        ec2Arn("security-group", network.functionSecurityGroup.securityGroupId),
      ],
    },
    {
      actions: [
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ],
      resources: [interfaces],
    },
    { actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], resources: ["*"] },
  ];
  for (const { actions, resources } of statements) {
    role.addToPrincipalPolicy(new PolicyStatement({ actions, resources }));
  }
  NagSuppressions.addResourceSuppressions(
    role,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Lambda names a function's network interfaces when it makes them, so creating, deleting and re-addressing them is granted on network-interface/* of this account and region (creation only in the tool network's private subnets with its security group); DescribeNetworkInterfaces and DescribeSubnets take no resource-level permission (Resource *)",
        appliesTo: [
          { regex: "/^Resource::arn:<AWS::Partition>:ec2:.*:network-interface\\/\\*$/g" },
          "Resource::*",
        ],
      },
    ],
    true,
  );
}

/** The ports the tool-facing functions may reach: HTTPS, plain HTTP for a tool without a certificate, and any port a tool's baseUrl names. */
export function egressPorts(config: TapestryConfig): number[] {
  const ports = new Set<number>([443]);
  if (config.provisioning && config.provisioning.certificateArn === undefined) ports.add(80);
  for (const tool of Object.values(config.tools)) {
    const baseUrl = (tool as { readonly baseUrl?: string } | undefined)?.baseUrl;
    if (!baseUrl) continue;
    const url = new URL(baseUrl);
    ports.add(url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443);
  }
  return [...ports].sort((a, b) => a - b);
}

function newVpc(
  stack: Stack,
  deployment: Deployment,
  natGateways: number,
): Omit<ToolNetwork, "functionSecurityGroup"> {
  // the NAT gateways' addresses are made here, so the template knows them: they are the egress CIDRs
  const eips = Array.from({ length: natGateways }, (_, index) => {
    const eip = new CfnEIP(stack, `NatAddress${index + 1}`, { domain: "vpc" });
    eip.applyRemovalPolicy(RemovalPolicy.DESTROY);
    return eip;
  });
  const flowLogs = new LogGroup(stack, "FlowLogs", {
    retention: deployment.aws.logRetentionDays as RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const vpc = new Vpc(stack, "Vpc", {
    maxAzs: 2,
    natGateways,
    natGatewayProvider: NatProvider.gateway({ eipAllocationIds: eips.map((eip) => eip.attrAllocationId) }),
    subnetConfiguration: [
      { name: "public", subnetType: SubnetType.PUBLIC, cidrMask: 24 },
      { name: "private", subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
    ],
    // CDK restricts the default security group with a Lambda-backed custom resource; nothing of
    // Tapestry's is ever placed in the default group (ADR 0022), so it is left as AWS makes it
    restrictDefaultSecurityGroup: false,
    flowLogs: {
      all: {
        destination: FlowLogDestination.toCloudWatchLogs(flowLogs),
        trafficType: FlowLogTrafficType.ALL,
      },
    },
  });
  return {
    vpc,
    publicSubnetIds: vpc.publicSubnets.map((subnet) => subnet.subnetId),
    privateSubnets: vpc.privateSubnets,
    egressCidrs: eips.map((eip) => Fn.join("", [eip.attrPublicIp, "/32"])),
  };
}

function existingVpc(
  stack: Stack,
  vpcId: string,
  publicSubnetIds: readonly string[],
  privateSubnetIds: readonly string[],
  egressCidrs: readonly string[],
): Omit<ToolNetwork, "functionSecurityGroup"> {
  // no lookup: the subnets are named by id and selected explicitly, so the VPC needs none of its
  // own and its zones (required, two tokens here) are never rendered
  const vpc = Vpc.fromVpcAttributes(stack, "Vpc", {
    vpcId,
    availabilityZones: [0, 1].map((index) => Fn.select(index, Fn.getAzs())),
  });
  return {
    vpc,
    publicSubnetIds,
    privateSubnets: privateSubnetIds.map((id, index) =>
      Subnet.fromSubnetId(stack, `PrivateSubnet${index + 1}`, id),
    ),
    egressCidrs,
  };
}
