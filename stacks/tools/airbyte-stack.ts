import { type HostingConfig, selfHostedTools, type TapestryConfig } from "@tapestry/core/config";
import {
  Annotations,
  BootstraplessSynthesizer,
  CfnOutput,
  CfnParameter,
  Fn,
  Stack,
  type StackProps,
} from "aws-cdk-lib";
import { Vpc } from "aws-cdk-lib/aws-ec2";
import type { Construct } from "constructs";
import { airbyteHost } from "./airbyte-host";
import { airbyteLoadBalancer } from "./airbyte-load-balancer";
import { suppressAirbyteNagFindings } from "./airbyte-nag";
import { airbyteStorage } from "./airbyte-storage";
import { toolStackName } from "./names";

/** The parts of the parsed `provisioning` section (packages/core/src/config/hosting-schema.ts) this stack reads. */
export type AirbyteHosting = Pick<
  HostingConfig,
  "network" | "allowedCidrs" | "allowPublicInternet" | "certificateArn" | "hostedZone" | "airbyteHost"
>;

export interface AirbyteToolStackProps extends StackProps {
  readonly stage: string;
  readonly hosting: AirbyteHosting;
  /** the origin users and the control plane reach Airbyte at (tools.airbyte.baseUrl's origin) */
  readonly airbyteUrl: string;
}

/**
 * The stack's config-derived props for a stage: the provisioning section and the origin of
 * `tools.airbyte.baseUrl` (Airbyte is installed for that URL; the API path stays the connector's).
 * The caller adds `stackName` and `env` (the region is required).
 */
export function airbyteToolStackProps(
  config: Pick<TapestryConfig, "provisioning" | "tools">,
  stage: string,
): Pick<AirbyteToolStackProps, "stage" | "hosting" | "airbyteUrl"> {
  const airbyte = config.tools.airbyte;
  if (!config.provisioning || !selfHostedTools(config).includes("airbyte") || !airbyte) {
    throw new Error(
      'provisioning.hosting.airbyte: the Airbyte stack is built only for a self-hosted Airbyte (hosting.airbyte "self-hosted", tools.airbyte declared)',
    );
  }
  return { stage, hosting: config.provisioning, airbyteUrl: new URL(airbyte.baseUrl).origin };
}

/** Names of the CloudFormation parameters the deployer passes (shared-s17.md's contract). */
export const AIRBYTE_STACK_PARAMETERS = [
  "VpcId",
  "PublicSubnetIds",
  "PrivateSubnetIds",
  "ControlPlaneEgressCidrs",
  "AirbyteClientIdParameter",
  "AirbyteClientSecretParameter",
] as const;

/**
 * How many CIDRs `ControlPlaneEgressCidrs` holds: one per NAT gateway of a new VPC, or the
 * configured egress CIDRs of an existing one. CloudFormation cannot loop over a list parameter, so
 * the stack makes one ingress rule per index and the count is fixed by the config.
 */
export function controlPlaneEgressCidrCount(hosting: Pick<AirbyteHosting, "network">): number {
  return hosting.network.vpc === "new" ? hosting.network.natGateways : hosting.network.egressCidrs.length;
}

/**
 * The self-hosted Airbyte (issue 11): one EC2 host running abctl (kind + the Helm chart) in a
 * private subnet behind an internet-facing ALB, and a bucket for Airbyte's logs and state. Not an
 * SST stack: it is synthesized in its own App and deployed by the provision state machine, so it
 * holds no asset and no Lambda-backed custom resource, and what only the deployed app knows comes
 * in as Parameters. Its region must be known (`env.region`): ALB access-log delivery is regional.
 * See docs/self-hosting.md, "Self-hosted Airbyte", and the tools-airbyte ADR.
 */
export class AirbyteToolStack extends Stack {
  constructor(scope: Construct, id: string, props: AirbyteToolStackProps) {
    // no bootstrap version rule or parameter: the template is deployed alone, from its URL
    super(scope, id, { ...props, synthesizer: props.synthesizer ?? new BootstraplessSynthesizer() });
    // server access logs delivered under a bucket policy, not the legacy log-delivery ACL (this
    // stack is built in its own App, without the project's cdk.json feature flags)
    this.node.setContext("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", true);
    const { hosting } = props;
    const url = airbyteOrigin(props.airbyteUrl, hosting.certificateArn);
    refuseIpv6Ranges(hosting.allowedCidrs);
    const httpOnly = hosting.certificateArn === undefined;

    const vpcId = new CfnParameter(this, "VpcId", {
      type: "AWS::EC2::VPC::Id",
      description: "the VPC of the control plane's network",
    });
    const publicSubnetIds = new CfnParameter(this, "PublicSubnetIds", {
      type: "List<AWS::EC2::Subnet::Id>",
      description: "two public subnets (two AZs) for the load balancer",
    });
    const privateSubnetIds = new CfnParameter(this, "PrivateSubnetIds", {
      type: "List<AWS::EC2::Subnet::Id>",
      description: "two private subnets; the host runs in the first",
    });
    const egressCidrs = new CfnParameter(this, "ControlPlaneEgressCidrs", {
      type: "CommaDelimitedList",
      description: `the control plane's public egress CIDRs (the NAT gateways' /32s), ${controlPlaneEgressCidrCount(hosting)} of them`,
    });
    const parameterName = { allowedPattern: "^/[a-zA-Z0-9_.\\-/]+$", minLength: 2, maxLength: 1011 };
    const clientIdParameter = new CfnParameter(this, "AirbyteClientIdParameter", {
      ...parameterName,
      description: "SSM parameter the host writes the Airbyte application's client id to (SecureString)",
    });
    const clientSecretParameter = new CfnParameter(this, "AirbyteClientSecretParameter", {
      ...parameterName,
      description: "SSM parameter the host writes the Airbyte application's client secret to (SecureString)",
    });

    const vpc = Vpc.fromVpcAttributes(this, "Vpc", {
      vpcId: vpcId.valueAsString,
      // only the ids reach the template; the ALB needs no AZ names
      availabilityZones: [0, 1].map((i) => Fn.select(i, Fn.getAzs())),
      publicSubnetIds: [0, 1].map((i) => Fn.select(i, publicSubnetIds.valueAsList)),
    });
    Annotations.of(vpc).acknowledgeWarning(
      "@aws-cdk/aws-ec2:noSubnetRouteTableId",
      "the ALB needs only the subnets' ids; nothing here reads their route tables",
    );

    const storage = airbyteStorage(this);
    const host = airbyteHost(this, {
      name: `tapestry-${props.stage}-airbyte`,
      vpc,
      subnetId: Fn.select(0, privateSubnetIds.valueAsList),
      instanceType: hosting.airbyteHost.instanceType,
      volumeGiB: hosting.airbyteHost.volumeGiB,
      storage,
      credentialParameters: [clientIdParameter.valueAsString, clientSecretParameter.valueAsString],
      script: {
        ABCTL_VERSION: hosting.airbyteHost.abctlVersion,
        CHART_VERSION: hosting.airbyteHost.chartVersion,
        AIRBYTE_URL: url.origin,
        LOW_RESOURCE_MODE: hosting.airbyteHost.lowResourceMode ? "true" : "false",
        INSECURE_COOKIES: httpOnly ? "true" : "false",
        CLIENT_ID_PARAMETER: clientIdParameter.valueAsString,
        CLIENT_SECRET_PARAMETER: clientSecretParameter.valueAsString,
        TOOL_HOST: toolStackName(props.stage, "airbyte"),
      },
    });
    const loadBalancer = airbyteLoadBalancer(this, {
      vpc,
      url,
      certificateArn: hosting.certificateArn,
      hostedZone: hosting.hostedZone,
      sources: [
        ...hosting.allowedCidrs.map((cidr) => ({ cidr, what: `allowed CIDR ${cidr}` })),
        ...Array.from({ length: controlPlaneEgressCidrCount(hosting) }, (_, i) => ({
          cidr: Fn.select(i, egressCidrs.valueAsList),
          what: `control plane egress ${i + 1}`,
        })),
      ],
      host,
      accessLogs: storage.accessLogs,
    });

    new CfnOutput(this, "Url", { value: url.origin, description: "where Airbyte answers" });
    new CfnOutput(this, "LoadBalancerDnsName", {
      value: loadBalancer.alb.loadBalancerDnsName,
      description: "CNAME the URL's host to this name when no hosted zone is configured",
    });
    new CfnOutput(this, "HttpOnly", {
      value: httpOnly ? "true" : "false",
      description: "true when no certificate is configured: Airbyte is served over plain HTTP",
    });
    new CfnOutput(this, "InstanceId", {
      value: host.instance.ref,
      description: "the host (Session Manager)",
    });
    new CfnOutput(this, "BucketName", {
      value: storage.bucket.bucketName,
      description: "Airbyte's logs and state",
    });

    suppressAirbyteNagFindings({
      role: host.role,
      accessLogs: storage.accessLogs,
      albSecurityGroup: loadBalancer.securityGroup,
      instance: host.instance,
      allowPublicInternet: hosting.allowPublicInternet,
    });
  }
}

/** The URL's origin, checked against the certificate: HTTPS needs one, and one means HTTPS. */
function airbyteOrigin(airbyteUrl: string, certificateArn: string | undefined): URL {
  const url = new URL(airbyteUrl);
  if (certificateArn !== undefined && url.protocol !== "https:") {
    throw new Error(
      `tools.airbyte.baseUrl is ${url.origin} but provisioning.certificateArn is set: use an https:// URL, the load balancer serves HTTPS`,
    );
  }
  if (certificateArn === undefined && url.protocol !== "http:") {
    throw new Error(
      `tools.airbyte.baseUrl is ${url.origin} but provisioning.certificateArn is not set: give the certificate for HTTPS, or an http:// URL for plain HTTP`,
    );
  }
  return url;
}

/** The ALB is IPv4-only (the tool network has no IPv6 subnets): an IPv6 range could never reach it. */
function refuseIpv6Ranges(allowedCidrs: readonly string[]): void {
  allowedCidrs.forEach((cidr, i) => {
    if (cidr.includes(":")) {
      throw new Error(
        `provisioning.allowedCidrs[${i}] is ${cidr}, an IPv6 range, but the Airbyte load balancer is IPv4-only: list the IPv4 ranges that may reach it`,
      );
    }
  });
}
