import { Aws, Fn, type Stack, Tags } from "aws-cdk-lib";
import {
  CfnInstance,
  type IVpc,
  LaunchTemplate,
  LaunchTemplateHttpTokens,
  MachineImage,
  OperatingSystemType,
  SecurityGroup,
} from "aws-cdk-lib/aws-ec2";
import { InstanceProfile, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { AirbyteStorage } from "./airbyte-storage";
import { type AirbyteUserDataValues, airbyteUserData } from "./airbyte-user-data";

/** The public SSM parameter of the latest Amazon Linux 2023 AMI (x86_64: abctl's kind images are amd64). */
export const AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
/** abctl's ingress listens on the host's port 8000. */
export const AIRBYTE_PORT = 8000;

export interface AirbyteHostProps {
  readonly name: string;
  readonly vpc: IVpc;
  /** the private subnet the host runs in */
  readonly subnetId: string;
  readonly instanceType: string;
  readonly volumeGiB: number;
  readonly storage: AirbyteStorage;
  /** the two SSM parameter NAMES the host writes the API credentials to */
  readonly credentialParameters: readonly [string, string];
  /** the boot script's values, but those of the storage (filled here) */
  readonly script: Omit<AirbyteUserDataValues, "BUCKET" | "REGION" | "LOG_GROUP">;
}

export interface AirbyteHost {
  readonly instance: CfnInstance;
  readonly role: Role;
  readonly securityGroup: SecurityGroup;
}

/**
 * The EC2 host that runs abctl: private subnet, no public IP, no key pair (Session Manager only),
 * IMDSv2 with hop limit 3, an encrypted gp3 root volume, detailed monitoring, and a role that may
 * use exactly its bucket, its log group, CloudWatch metrics and the two credential parameters.
 */
export function airbyteHost(stack: Stack, props: AirbyteHostProps): AirbyteHost {
  const { bucket, hostLog } = props.storage;
  const role = new Role(stack, "HostRole", {
    assumedBy: new ServicePrincipal("ec2.amazonaws.com"),
    description:
      "the Airbyte host: Session Manager, its bucket, its log and metrics, the two API credential parameters",
    managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore")],
  });
  bucket.grantReadWrite(role);
  hostLog.grantWrite(role);
  hostLog.grant(role, "logs:DescribeLogStreams"); // the CloudWatch agent looks for its stream
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
      resources: props.credentialParameters.map(
        (name) => `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:parameter${name}`,
      ),
    }),
  );
  const profile = new InstanceProfile(stack, "HostProfile", { role });

  const securityGroup = new SecurityGroup(stack, "HostSecurityGroup", {
    vpc: props.vpc,
    description:
      "Airbyte host: port 8000 from its load balancer only; out to the internet (images, releases, AWS)",
    allowAllOutbound: true,
  });

  // IMDSv2 only, hop limit 3: connectors in kind's pods reach the instance role through two more hops
  const launchTemplate = new LaunchTemplate(stack, "HostMetadataOptions", {
    httpTokens: LaunchTemplateHttpTokens.REQUIRED,
    httpPutResponseHopLimit: 3,
    requireImdsv2: true,
  });
  // the template tags what it launches: the instance's Name, not a construct path
  Tags.of(launchTemplate).add("Name", props.name);
  const machineImage = MachineImage.resolveSsmParameterAtLaunch(AL2023_AMI_PARAMETER, {
    os: OperatingSystemType.LINUX,
  });
  const userData = airbyteUserData({
    ...props.script,
    BUCKET: bucket.bucketName,
    REGION: Aws.REGION,
    LOG_GROUP: hostLog.logGroupName,
  });
  const instance = new CfnInstance(stack, "Host", {
    // resolved by EC2 at launch, so a newer AMI never replaces a running host on a stack update
    imageId: machineImage.getImage(stack).imageId,
    instanceType: props.instanceType,
    iamInstanceProfile: profile.instanceProfileName,
    launchTemplate: {
      launchTemplateId: launchTemplate.launchTemplateId,
      version: launchTemplate.latestVersionNumber,
    },
    networkInterfaces: [
      {
        deviceIndex: "0",
        subnetId: props.subnetId,
        groupSet: [securityGroup.securityGroupId],
        associatePublicIpAddress: false,
      },
    ],
    blockDeviceMappings: [
      {
        deviceName: "/dev/xvda",
        ebs: { volumeSize: props.volumeGiB, volumeType: "gp3", encrypted: true, deleteOnTermination: true },
      },
    ],
    monitoring: true,
    userData: Fn.base64(userData.render()),
    tags: [{ key: "Name", value: props.name }],
  });
  // the boot script needs the role's grants (its default policy, a child of the role) at once
  instance.node.addDependency(role);
  return { instance, role, securityGroup };
}
