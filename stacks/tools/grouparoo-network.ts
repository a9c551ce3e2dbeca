import type { HostingConfig } from "@tapestry/core/config";
import { CfnParameter, Fn, type Stack } from "aws-cdk-lib";
import {
  type IPeer,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  Subnet,
  type SubnetSelection,
  Vpc,
} from "aws-cdk-lib/aws-ec2";

/** Each ControlPlaneEgressCidrs value: an IPv4 CIDR of /8 to /32 */
export const EGRESS_CIDR_PATTERN =
  "^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])/(3[0-2]|[12][0-9]|[89])$";
const OPEN_CIDRS = new Set(["0.0.0.0/0", "::/0"]);

/** What the deployed app passes in as the stack's Parameters (shared-s17 contract: exact names), read as values. */
export interface GrouparooStackInputs {
  readonly vpc: IVpc;
  readonly publicSubnets: SubnetSelection;
  readonly privateSubnets: SubnetSelection;
  /** the PrivateSubnetIds list itself (ElastiCache's subnet group takes ids) */
  readonly privateSubnetIds: string[];
  /** the ControlPlaneEgressCidrs list */
  readonly egressCidrs: string[];
  readonly configBucketName: string;
  /** `/tapestry/<stage>/`: the app's secrets are SSM SecureStrings under it */
  readonly secretParameterPrefix: string;
}

export function grouparooStackInputs(stack: Stack): GrouparooStackInputs {
  const vpcId = new CfnParameter(stack, "VpcId", {
    type: "AWS::EC2::VPC::Id",
    description: "The VPC of the control plane's network",
  });
  const publicSubnetIds = new CfnParameter(stack, "PublicSubnetIds", {
    type: "List<AWS::EC2::Subnet::Id>",
    description: "Two public subnets (the load balancer)",
  });
  const privateSubnetIds = new CfnParameter(stack, "PrivateSubnetIds", {
    type: "List<AWS::EC2::Subnet::Id>",
    description: "Two private subnets with a route to a NAT gateway (tasks, database, Redis)",
  });
  const egressCidrs = new CfnParameter(stack, "ControlPlaneEgressCidrs", {
    type: "CommaDelimitedList",
    // CloudFormation matches each value of the list: IPv4 CIDRs of /8 to /32, never 0.0.0.0/0
    allowedPattern: EGRESS_CIDR_PATTERN,
    constraintDescription:
      "IPv4 CIDRs with a prefix of /8 to /32 (the control plane's NAT gateways' public /32s)",
    description: "The control plane's public egress (its NAT gateways' /32s), let into the load balancer",
  });
  const configBucketName = new CfnParameter(stack, "GrouparooConfigBucket", {
    type: "String",
    description: "The bucket of Grouparoo's config files (under grouparoo/), written by the provision run",
  });
  const secretPrefix = new CfnParameter(stack, "SecretParameterPrefix", {
    type: "String",
    allowedPattern: "^/tapestry/[A-Za-z0-9-]+/$",
    description:
      "The app's secret SSM path, e.g. /tapestry/prod/ (the app options' secrets are SecureStrings under it)",
  });

  const two = (list: CfnParameter) => [0, 1].map((index) => Fn.select(index, list.valueAsList));
  const selection = (list: CfnParameter, kind: string): SubnetSelection => ({
    subnets: two(list).map((id, index) => Subnet.fromSubnetId(stack, `${kind}Subnet${index}`, id)),
  });
  return {
    vpc: Vpc.fromVpcAttributes(stack, "Vpc", {
      vpcId: vpcId.valueAsString,
      availabilityZones: [0, 1].map((index) => Fn.select(index, Fn.getAzs())),
      publicSubnetIds: two(publicSubnetIds),
      privateSubnetIds: two(privateSubnetIds),
    }),
    publicSubnets: selection(publicSubnetIds, "Public"),
    privateSubnets: selection(privateSubnetIds, "Private"),
    privateSubnetIds: privateSubnetIds.valueAsList,
    egressCidrs: egressCidrs.valueAsList,
    configBucketName: configBucketName.valueAsString,
    secretParameterPrefix: secretPrefix.valueAsString,
  };
}

export interface GrouparooSecurityGroups {
  readonly loadBalancer: SecurityGroup;
  readonly tasks: SecurityGroup;
  readonly database: SecurityGroup;
  readonly redis: SecurityGroup;
}

/**
 * internet (the allowed CIDRs and the control plane's egress only) -> load balancer -> web tasks;
 * tasks -> Postgres and Redis on their ports. The load balancer's rule to the tasks is added by
 * its target group; the tasks go out through NAT (Docker Hub, the warehouse, the destinations).
 */
export function grouparooSecurityGroups(
  stack: Stack,
  props: {
    readonly vpc: IVpc;
    readonly hosting: HostingConfig;
    readonly egressCidrs: string[];
    readonly listenerPorts: readonly number[];
    readonly databasePort: number;
    readonly redisPort: number;
  },
): GrouparooSecurityGroups {
  const { vpc, hosting } = props;
  const loadBalancer = new SecurityGroup(stack, "LoadBalancerSecurityGroup", {
    vpc,
    description: "Grouparoo's load balancer: the allowed CIDRs and the control plane's egress",
    allowAllOutbound: false,
  });
  const allowFrom = (peer: IPeer, what: string) => {
    for (const port of props.listenerPorts) {
      loadBalancer.addIngressRule(peer, Port.tcp(port), `${what} (${port})`);
    }
  };
  hosting.allowedCidrs.forEach((cidr, i) => {
    // the ALB is IPv4-only (the tool network has no IPv6 subnets), as the Airbyte stack's is
    if (cidr.includes(":")) {
      throw new Error(
        `provisioning.allowedCidrs[${i}] is ${cidr}, an IPv6 range, but the Grouparoo load balancer is IPv4-only: list the IPv4 ranges that may reach it`,
      );
    }
    // parseConfig refuses this already (hostingIssues); a stack built by hand must not open up either
    if (OPEN_CIDRS.has(cidr) && !hosting.allowPublicInternet) {
      throw new Error(
        `provisioning.allowedCidrs[${i}] is ${cidr} without provisioning.allowPublicInternet: true; list your networks, or set allowPublicInternet`,
      );
    }
    allowFrom(Peer.ipv4(cidr), `allowed ${cidr}`);
  });
  for (let index = 0; index < egressCidrCount(hosting); index++) {
    allowFrom(Peer.ipv4(Fn.select(index, props.egressCidrs)), `control plane egress ${index}`);
  }
  const tasks = new SecurityGroup(stack, "TaskSecurityGroup", {
    vpc,
    description: "Grouparoo's tasks: out to Docker Hub, the warehouse and the destinations through NAT",
    allowAllOutbound: true,
  });
  const onlyFromTasks = (id: string, what: string, port: number) => {
    const group = new SecurityGroup(stack, id, {
      vpc,
      description: `Grouparoo's ${what}: only from its tasks`,
      allowAllOutbound: false,
    });
    group.addIngressRule(tasks, Port.tcp(port), "Grouparoo's tasks");
    return group;
  };
  return {
    loadBalancer,
    tasks,
    database: onlyFromTasks("DatabaseSecurityGroup", "Postgres", props.databasePort),
    redis: onlyFromTasks("RedisSecurityGroup", "Redis", props.redisPort),
  };
}

/** Whether the config opens the load balancer to the whole internet (it may only with allowPublicInternet). */
export function opensToInternet(hosting: HostingConfig): boolean {
  return hosting.allowPublicInternet && hosting.allowedCidrs.some((cidr) => OPEN_CIDRS.has(cidr));
}

/**
 * How many values ControlPlaneEgressCidrs carries: one /32 per NAT gateway of a new VPC, the
 * configured list for an existing one. The deployer must pass exactly these.
 */
export function egressCidrCount(hosting: HostingConfig): number {
  return hosting.network.vpc === "new" ? hosting.network.natGateways : hosting.network.egressCidrs.length;
}
