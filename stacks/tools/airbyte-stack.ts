import type { HostingConfig } from "@tapestry/core/config";
import {
  Annotations,
  Aws,
  BootstraplessSynthesizer,
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
} from "aws-cdk-lib";
import {
  CfnInstance,
  LaunchTemplate,
  LaunchTemplateHttpTokens,
  MachineImage,
  OperatingSystemType,
  Peer,
  Port,
  SecurityGroup,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import {
  ApplicationLoadBalancer,
  ApplicationProtocol,
  ApplicationTargetGroup,
  IpAddressType,
  ListenerAction,
  ListenerCertificate,
  ListenerCondition,
  SslPolicy,
  TargetType,
} from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { InstanceIdTarget } from "aws-cdk-lib/aws-elasticloadbalancingv2-targets";
import { InstanceProfile, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { ARecord, HostedZone, RecordTarget } from "aws-cdk-lib/aws-route53";
import { LoadBalancerTarget } from "aws-cdk-lib/aws-route53-targets";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import { airbyteUserData } from "./airbyte-user-data";

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

/** The public SSM parameter of the latest Amazon Linux 2023 AMI (x86_64: abctl's kind images are amd64). */
export const AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
/** abctl's ingress listens on the host's port 8000. */
export const AIRBYTE_PORT = 8000;
/** Airbyte server's health route (unauthenticated), reached through abctl's ingress. */
export const AIRBYTE_HEALTH_PATH = "/api/v1/health";
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
export function controlPlaneEgressCidrCount(hosting: AirbyteHosting): number {
  return hosting.network.vpc === "new" ? hosting.network.natGateways : hosting.network.egressCidrs.length;
}

/**
 * The self-hosted Airbyte (issue 11): one EC2 host running abctl (kind + the Helm chart) in a
 * private subnet behind an internet-facing ALB, and a bucket for Airbyte's logs and state. Not an
 * SST stack: it is synthesized in its own App and deployed by the provision state machine (ADR
 * 0022), so it holds no asset and no Lambda-backed custom resource; what only the deployed app
 * knows comes in as Parameters. See docs/self-hosting.md, "Self-hosted Airbyte".
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

    const publicSubnets = [0, 1].map((i) => Fn.select(i, publicSubnetIds.valueAsList));
    const vpc = Vpc.fromVpcAttributes(this, "Vpc", {
      vpcId: vpcId.valueAsString,
      // only the ids reach the template; the ALB needs no AZ names
      availabilityZones: [0, 1].map((i) => Fn.select(i, Fn.getAzs())),
      publicSubnetIds: publicSubnets,
    });
    Annotations.of(vpc).acknowledgeWarning(
      "@aws-cdk/aws-ec2:noSubnetRouteTableId",
      "the ALB needs only the subnets' ids; nothing here reads their route tables",
    );

    // --- storage: Airbyte's logs and state (S3 through the instance role), and the ALB's access logs
    const accessLogs = new Bucket(this, "AccessLogs", {
      encryption: BucketEncryption.S3_MANAGED, // ELB access logs are delivered only to SSE-S3 buckets
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [
        { expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(30) },
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const bucket = new Bucket(this, "Storage", {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: "s3/storage/",
      // state and logs are rewritten in place: keep old versions a month, never expire current ones
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30) },
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const installLog = new LogGroup(this, "HostLog", {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // --- the host's role: Session Manager, its bucket, its log, its metrics, the two parameters
    const role = new Role(this, "HostRole", {
      assumedBy: new ServicePrincipal("ec2.amazonaws.com"),
      description:
        "the Airbyte host: Session Manager, its bucket, its log and metrics, the two API credential parameters",
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore")],
    });
    bucket.grantReadWrite(role);
    installLog.grantWrite(role);
    installLog.grant(role, "logs:DescribeLogStreams"); // the CloudWatch agent looks for its stream
    role.addToPolicy(
      new PolicyStatement({
        actions: ["cloudwatch:PutMetricData"],
        resources: ["*"],
        conditions: { StringEquals: { "cloudwatch:namespace": "CWAgent" } },
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ["ssm:PutParameter"],
        resources: [clientIdParameter, clientSecretParameter].map(
          (p) => `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:parameter${p.valueAsString}`,
        ),
      }),
    );
    const profile = new InstanceProfile(this, "HostProfile", { role });

    // --- network: ALB (internet-facing, public subnets) -> host:8000 (private subnet), nothing else
    const albSecurityGroup = new SecurityGroup(this, "LoadBalancerSecurityGroup", {
      vpc,
      description:
        "Airbyte load balancer: the allowed CIDRs and the control plane's egress, to the host on 8000",
      allowAllOutbound: false,
    });
    const hostSecurityGroup = new SecurityGroup(this, "HostSecurityGroup", {
      vpc,
      description:
        "Airbyte host: port 8000 from its load balancer only; out to the internet (images, releases, AWS)",
      allowAllOutbound: true,
    });
    hostSecurityGroup.addIngressRule(albSecurityGroup, Port.tcp(AIRBYTE_PORT), "from the load balancer");
    albSecurityGroup.addEgressRule(hostSecurityGroup, Port.tcp(AIRBYTE_PORT), "to the Airbyte host");
    const listenerPorts = httpOnly ? [80] : [443, 80];
    const sources = [
      ...hosting.allowedCidrs.map((cidr) => ({ cidr, what: `allowed CIDR ${cidr}` })),
      ...Array.from({ length: controlPlaneEgressCidrCount(hosting) }, (_, i) => ({
        cidr: Fn.select(i, egressCidrs.valueAsList),
        what: `control plane egress ${i + 1}`,
      })),
    ];
    for (const port of listenerPorts) {
      for (const { cidr, what } of sources) {
        albSecurityGroup.addIngressRule(Peer.ipv4(cidr), Port.tcp(port), `${what}, port ${port}`);
      }
    }

    // IMDSv2 only, hop limit 3: connectors in kind's pods reach the instance role through two more hops
    const launchTemplate = new LaunchTemplate(this, "HostMetadataOptions", {
      httpTokens: LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 3,
      requireImdsv2: true,
    });
    const hostName = `tapestry-${props.stage}-airbyte`;
    // the template tags what it launches; the same Name as the instance's own tag, not a construct path
    Tags.of(launchTemplate).add("Name", hostName);
    const machineImage = MachineImage.resolveSsmParameterAtLaunch(AL2023_AMI_PARAMETER, {
      os: OperatingSystemType.LINUX,
    });
    const userData = airbyteUserData({
      ABCTL_VERSION: hosting.airbyteHost.abctlVersion,
      CHART_VERSION: hosting.airbyteHost.chartVersion,
      AIRBYTE_URL: url.origin,
      LOW_RESOURCE_MODE: hosting.airbyteHost.lowResourceMode ? "true" : "false",
      INSECURE_COOKIES: httpOnly ? "true" : "false",
      BUCKET: bucket.bucketName,
      REGION: Aws.REGION,
      CLIENT_ID_PARAMETER: clientIdParameter.valueAsString,
      CLIENT_SECRET_PARAMETER: clientSecretParameter.valueAsString,
      LOG_GROUP: installLog.logGroupName,
    });
    const instance = new CfnInstance(this, "Host", {
      // resolved by EC2 at launch, so a newer AMI never replaces a running host on a stack update
      imageId: machineImage.getImage(this).imageId,
      instanceType: hosting.airbyteHost.instanceType,
      iamInstanceProfile: profile.instanceProfileName,
      launchTemplate: {
        launchTemplateId: launchTemplate.launchTemplateId,
        version: launchTemplate.latestVersionNumber,
      },
      networkInterfaces: [
        {
          deviceIndex: "0",
          subnetId: Fn.select(0, privateSubnetIds.valueAsList),
          groupSet: [hostSecurityGroup.securityGroupId],
          associatePublicIpAddress: false,
        },
      ],
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          ebs: {
            volumeSize: hosting.airbyteHost.volumeGiB,
            volumeType: "gp3",
            encrypted: true,
            deleteOnTermination: true,
          },
        },
      ],
      monitoring: true,
      userData: Fn.base64(userData.render()),
      tags: [{ key: "Name", value: hostName }],
    });
    // the boot script needs the role's grants (its default policy, a child of the role) at once
    instance.node.addDependency(role);

    const alb = new ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnets: vpc.publicSubnets },
      securityGroup: albSecurityGroup,
      ipAddressType: IpAddressType.IPV4,
      dropInvalidHeaderFields: true,
      // abctl's nginx allows 600 s per request (schema discovery can be slow)
      idleTimeout: Duration.seconds(600),
    });
    alb.logAccessLogs(accessLogs, "alb");
    const targets = new ApplicationTargetGroup(this, "Targets", {
      vpc,
      port: AIRBYTE_PORT,
      protocol: ApplicationProtocol.HTTP,
      targetType: TargetType.INSTANCE,
      targets: [new InstanceIdTarget(instance.ref, AIRBYTE_PORT)],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: AIRBYTE_HEALTH_PATH,
        healthyHttpCodes: "200",
        interval: Duration.seconds(30),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 5,
      },
    });
    // abctl's ingress answers any Host (the install has no --host): the ALB forwards only the URL's
    // host, so its health check (Host = the target's IP) reaches Airbyte's real health route
    const notThisHost = ListenerAction.fixedResponse(404, {
      contentType: "text/plain",
      messageBody: "not found",
    });
    const listener = httpOnly
      ? alb.addListener("Http", {
          port: 80,
          protocol: ApplicationProtocol.HTTP,
          defaultAction: notThisHost,
          open: false, // else CDK admits 0.0.0.0/0: the ingress rules above are the only ones
        })
      : alb.addListener("Https", {
          port: 443,
          open: false,
          protocol: ApplicationProtocol.HTTPS,
          certificates: [ListenerCertificate.fromArn(hosting.certificateArn as string)],
          sslPolicy: SslPolicy.RECOMMENDED_TLS,
          defaultAction: notThisHost,
        });
    listener.addAction("AirbyteHost", {
      priority: 10,
      conditions: [ListenerCondition.hostHeaders([url.hostname])],
      action: ListenerAction.forward([targets]),
    });
    if (!httpOnly) {
      alb.addListener("HttpRedirect", {
        port: 80,
        protocol: ApplicationProtocol.HTTP,
        open: false,
        defaultAction: ListenerAction.redirect({ protocol: "HTTPS", port: "443", permanent: true }),
      });
    }

    if (hosting.hostedZone) {
      const zone = HostedZone.fromHostedZoneAttributes(this, "Zone", {
        hostedZoneId: hosting.hostedZone.id,
        zoneName: hosting.hostedZone.name,
      });
      new ARecord(this, "AirbyteRecord", {
        zone,
        recordName: `${url.hostname}.`,
        target: RecordTarget.fromAlias(new LoadBalancerTarget(alb)),
      });
    }

    new CfnOutput(this, "Url", { value: url.origin, description: "where Airbyte answers" });
    new CfnOutput(this, "LoadBalancerDnsName", {
      value: alb.loadBalancerDnsName,
      description: "CNAME the URL's host to this name when no hosted zone is configured",
    });
    new CfnOutput(this, "HttpOnly", {
      value: httpOnly ? "true" : "false",
      description: "true when no certificate is configured: Airbyte is served over plain HTTP",
    });
    new CfnOutput(this, "InstanceId", { value: instance.ref, description: "the host (Session Manager)" });
    new CfnOutput(this, "BucketName", { value: bucket.bucketName, description: "Airbyte's logs and state" });

    suppressAirbyteNagFindings({ role, accessLogs, albSecurityGroup, instance, hosting });
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

/** Every cdk-nag AwsSolutions finding this stack accepts, each with its reason (docs/self-hosting.md lists them). */
function suppressAirbyteNagFindings(parts: {
  readonly role: Role;
  readonly accessLogs: Bucket;
  readonly albSecurityGroup: SecurityGroup;
  readonly instance: CfnInstance;
  readonly hosting: AirbyteHosting;
}): void {
  NagSuppressions.addResourceSuppressions(parts.role, [
    {
      id: "AwsSolutions-IAM4",
      reason:
        "AmazonSSMManagedInstanceCore is AWS's maintained policy for Session Manager, the only way onto the host (no SSH)",
      appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore"],
    },
  ]);
  NagSuppressions.addResourceSuppressions(
    parts.role,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Airbyte reads and writes objects of any key in its own bucket (logs, state, workload output): the wildcard is the objects of that one bucket",
        appliesTo: [
          "Action::s3:GetObject*",
          "Action::s3:GetBucket*",
          "Action::s3:List*",
          "Action::s3:DeleteObject*",
          "Action::s3:Abort*",
          { regex: "/^Resource::<Storage[0-9A-F]{8}\\.Arn>\\/\\*$/" },
        ],
      },
      {
        id: "AwsSolutions-IAM5",
        reason:
          "cloudwatch:PutMetricData supports no resource-level permissions; the statement is limited to the CWAgent namespace by condition",
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(parts.accessLogs, [
    {
      id: "AwsSolutions-S1",
      reason:
        "this bucket receives the access logs (ALB and the storage bucket's); logging it into itself would loop",
    },
  ]);
  NagSuppressions.addResourceSuppressions(parts.instance, [
    {
      id: "AwsSolutions-EC29",
      reason:
        "termination protection would make teardown (DELETE /provisioning) and a host replacement fail; Airbyte's logs and state are in the retained bucket, and Tapestry re-ensures its Airbyte objects by name on a new host",
    },
  ]);
  NagSuppressions.addResourceSuppressions(parts.albSecurityGroup, [
    {
      id: "CdkNagValidationFailure",
      reason:
        "EC23 cannot read CIDRs selected from the ControlPlaneEgressCidrs parameter (the NAT gateways' /32s); test/infra/tools-airbyte.test.ts asserts no 0.0.0.0/0 rule unless allowPublicInternet",
      appliesTo: ["AwsSolutions-EC23"],
    },
  ]);
  if (parts.hosting.allowPublicInternet) {
    NagSuppressions.addResourceSuppressions(parts.albSecurityGroup, [
      {
        id: "AwsSolutions-EC23",
        reason:
          "provisioning.allowPublicInternet is true: the user chose to open the load balancer to 0.0.0.0/0",
      },
    ]);
  }
}
