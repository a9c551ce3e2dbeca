import type { HostingConfig } from "@tapestry/core/config";
import {
  CfnOutput,
  CfnParameter,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  Token,
} from "aws-cdk-lib";
import {
  type IPeer,
  Peer,
  Port,
  SecurityGroup,
  Subnet,
  type SubnetSelection,
  Vpc,
} from "aws-cdk-lib/aws-ec2";
import {
  Cluster,
  ContainerDependencyCondition,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  Secret as EcsSecret,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
} from "aws-cdk-lib/aws-ecs";
import { CfnReplicationGroup, CfnSubnetGroup } from "aws-cdk-lib/aws-elasticache";
import {
  ApplicationLoadBalancer,
  ApplicationProtocol,
  ListenerAction,
  ListenerCertificate,
  SslPolicy,
} from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  Credentials,
  DatabaseInstance,
  DatabaseInstanceEngine,
  ParameterGroup,
  PostgresEngineVersion,
  StorageType,
} from "aws-cdk-lib/aws-rds";
import { ARecord, HostedZone, RecordTarget } from "aws-cdk-lib/aws-route53";
import { LoadBalancerTarget } from "aws-cdk-lib/aws-route53-targets";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { StringParameter } from "aws-cdk-lib/aws-ssm";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";
import type { GrouparooAppSecret } from "./grouparoo-props";

/** The `provisioning` section of a parsed config (packages/core/src/config/hosting-schema.ts). */
export type GrouparooHosting = HostingConfig;

export interface GrouparooToolStackProps extends StackProps {
  readonly stage: string;
  readonly hosting: GrouparooHosting;
  /** tools.grouparoo.baseUrl's origin: Grouparoo's WEB_URL, the DNS record's name with a hosted zone */
  readonly grouparooUrl: string;
  /** the app options' secrets the config files reference (grouparooAppSecrets(config)) */
  readonly appSecrets: readonly GrouparooAppSecret[];
  /** grouparooConfigDigest(config): changed config files roll the services */
  readonly configDigest?: string;
}

/** The image that copies the config files into the tasks (the official AWS CLI v2 image, pinned; its entrypoint is `aws`). */
export const GROUPAROO_CONFIG_COPIER_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.32.2";
/** Grouparoo's web port (the omnibus image's PORT) */
export const GROUPAROO_PORT = 3000;
/** Grouparoo's unauthenticated status route (core/src/config/routes.ts `status:public`, under urlPathForActions `api`) */
export const GROUPAROO_HEALTH_PATH = "/api/v1/status/public";
/** Postgres and Redis on ports other than their defaults (cdk-nag RDS11, AEC5): only the tasks' security group reaches them anyway */
export const GROUPAROO_DATABASE_PORT = 5433;
export const GROUPAROO_REDIS_PORT = 6380;
/** Where the tasks' shared volume is mounted: the bucket's `grouparoo/` prefix is copied here, config/ under it */
const CONFIG_MOUNT = "/tapestry-grouparoo";
const CONFIG_PREFIX = "grouparoo/";
const OPEN_CIDRS = new Set(["0.0.0.0/0", "::/0"]);
/** Each ControlPlaneEgressCidrs value: an IPv4 CIDR of /8 to /32 */
export const EGRESS_CIDR_PATTERN =
  "^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])/(3[0-2]|[12][0-9]|[89])$";
const DATABASE_NAME = "grouparoo";
const LOG_RETENTION = RetentionDays.THREE_MONTHS;
const ACCESS_LOG_DAYS = 90;

/**
 * The self-hosted Grouparoo (issue 11): the pinned omnibus image on ECS Fargate (X86_64: the image
 * is amd64 only) as a web service behind an internet-facing ALB and a worker service, Postgres on
 * RDS and Redis on ElastiCache, all in the private subnets. Deployed by the provision state machine
 * from its template alone (no asset, no custom resource); what only the deployed app knows comes
 * in as Parameters (shared-s17 contract). No secret is in the template or in a task's environment:
 * credentials are generated into Secrets Manager and reach the containers through ECS `secrets`;
 * the app options' secrets come from the app's SSM SecureStrings. Config files: ADR 0022.
 */
export class GrouparooToolStack extends Stack {
  constructor(scope: Construct, id: string, props: GrouparooToolStackProps) {
    super(scope, id, props);
    if (Token.isUnresolved(this.region)) {
      throw new Error(
        "GrouparooToolStack needs env.region (the app's region): the load balancer's access-log bucket policy names that region's log delivery",
      );
    }
    const { hosting } = props;
    // as the SST app tags its own (stacks/index.ts), so the tools' costs show per stage
    Tags.of(this).add("app", "tapestry");
    Tags.of(this).add("stage", props.stage);
    Tags.of(this).add("tool", "grouparoo");
    const service = hosting.grouparooService;
    assertPinnedImage(service.image);
    const url = new URL(props.grouparooUrl);
    const origin = url.origin;
    const httpOnly = hosting.certificateArn === undefined;

    // -- what the deployed app passes in (exact names: the deployer's contract)
    const vpcId = new CfnParameter(this, "VpcId", {
      type: "AWS::EC2::VPC::Id",
      description: "The VPC of the control plane's network",
    });
    const publicSubnetIds = new CfnParameter(this, "PublicSubnetIds", {
      type: "List<AWS::EC2::Subnet::Id>",
      description: "Two public subnets (the load balancer)",
    });
    const privateSubnetIds = new CfnParameter(this, "PrivateSubnetIds", {
      type: "List<AWS::EC2::Subnet::Id>",
      description: "Two private subnets with a route to a NAT gateway (tasks, database, Redis)",
    });
    const egressCidrs = new CfnParameter(this, "ControlPlaneEgressCidrs", {
      type: "CommaDelimitedList",
      // CloudFormation matches each value of the list: IPv4 CIDRs of /8 to /32, never 0.0.0.0/0
      allowedPattern: EGRESS_CIDR_PATTERN,
      constraintDescription:
        "IPv4 CIDRs with a prefix of /8 to /32 (the control plane's NAT gateways' public /32s)",
      description: "The control plane's public egress (its NAT gateways' /32s), let into the load balancer",
    });
    const configBucketName = new CfnParameter(this, "GrouparooConfigBucket", {
      type: "String",
      description: "The bucket of Grouparoo's config files (under grouparoo/), written by the provision run",
    });
    const secretPrefix = new CfnParameter(this, "SecretParameterPrefix", {
      type: "String",
      allowedPattern: "^/tapestry/[A-Za-z0-9-]+/$",
      description:
        "The app's secret SSM path, e.g. /tapestry/prod/ (the app options' secrets are SecureStrings under it)",
    });

    const subnets = (list: CfnParameter, kind: string): SubnetSelection => ({
      subnets: [0, 1].map((index) =>
        Subnet.fromSubnetId(this, `${kind}Subnet${index}`, Fn.select(index, list.valueAsList)),
      ),
    });
    const privateSubnets = subnets(privateSubnetIds, "Private");
    const publicSubnets = subnets(publicSubnetIds, "Public");
    const vpc = Vpc.fromVpcAttributes(this, "Vpc", {
      vpcId: vpcId.valueAsString,
      availabilityZones: [0, 1].map((index) => Fn.select(index, Fn.getAzs())),
      publicSubnetIds: [0, 1].map((index) => Fn.select(index, publicSubnetIds.valueAsList)),
      privateSubnetIds: [0, 1].map((index) => Fn.select(index, privateSubnetIds.valueAsList)),
    });

    // -- security groups: internet -> ALB -> web tasks; tasks -> Postgres, Redis
    const albSecurityGroup = new SecurityGroup(this, "LoadBalancerSecurityGroup", {
      vpc,
      description: "Grouparoo's load balancer: the allowed CIDRs and the control plane's egress",
      allowAllOutbound: false,
    });
    const listenerPorts = httpOnly ? [80] : [80, 443];
    const allowFrom = (peer: IPeer, what: string) => {
      for (const port of listenerPorts)
        albSecurityGroup.addIngressRule(peer, Port.tcp(port), `${what} (${port})`);
    };
    for (const cidr of hosting.allowedCidrs) {
      // parseConfig refuses this already (hostingIssues); a stack built by hand must not open up either
      if (OPEN_CIDRS.has(cidr) && !hosting.allowPublicInternet) {
        throw new Error(
          `provisioning.allowedCidrs holds ${cidr} without provisioning.allowPublicInternet: true; list your networks, or set allowPublicInternet`,
        );
      }
      allowFrom(cidr.includes(":") ? Peer.ipv6(cidr) : Peer.ipv4(cidr), `allowed ${cidr}`);
    }
    for (let index = 0; index < egressCidrCount(hosting); index++) {
      allowFrom(Peer.ipv4(Fn.select(index, egressCidrs.valueAsList)), `control plane egress ${index}`);
    }
    const taskSecurityGroup = new SecurityGroup(this, "TaskSecurityGroup", {
      vpc,
      description: "Grouparoo's tasks: out to Docker Hub, the warehouse and the destinations through NAT",
      allowAllOutbound: true,
    });
    const databaseSecurityGroup = new SecurityGroup(this, "DatabaseSecurityGroup", {
      vpc,
      description: "Grouparoo's Postgres: only from its tasks",
      allowAllOutbound: false,
    });
    databaseSecurityGroup.addIngressRule(
      taskSecurityGroup,
      Port.tcp(GROUPAROO_DATABASE_PORT),
      "Grouparoo's tasks",
    );
    const redisSecurityGroup = new SecurityGroup(this, "RedisSecurityGroup", {
      vpc,
      description: "Grouparoo's Redis: only from its tasks",
      allowAllOutbound: false,
    });
    redisSecurityGroup.addIngressRule(taskSecurityGroup, Port.tcp(GROUPAROO_REDIS_PORT), "Grouparoo's tasks");

    // -- Postgres: encrypted, private, backed up, protected; its credentials generated into Secrets Manager
    const database = new DatabaseInstance(this, "Database", {
      engine: DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_16 }),
      // rds.force_ssl: the tasks connect over TLS (DATABASE_SSL)
      parameterGroup: new ParameterGroup(this, "DatabaseParameters", {
        engine: DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_16 }),
        parameters: { "rds.force_ssl": "1" },
      }),
      instanceIdentifier: grouparooDatabaseInstanceId(props.stage),
      vpc,
      vpcSubnets: privateSubnets,
      securityGroups: [databaseSecurityGroup],
      port: GROUPAROO_DATABASE_PORT,
      publiclyAccessible: false,
      databaseName: DATABASE_NAME,
      credentials: Credentials.fromGeneratedSecret("grouparoo"),
      storageEncrypted: true,
      storageType: StorageType.GP3,
      allocatedStorage: service.database.allocatedStorageGiB,
      multiAz: service.database.multiAz,
      backupRetention: Duration.days(service.database.backupRetentionDays),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      autoMinorVersionUpgrade: true,
      enablePerformanceInsights: false,
      // its log group is made below with a retention (cloudwatchLogsRetention would need a Lambda)
      cloudwatchLogsExports: ["postgresql"],
    });
    const databaseLogs = new LogGroup(this, "DatabaseLogs", {
      logGroupName: `/aws/rds/instance/${grouparooDatabaseInstanceId(props.stage)}/postgresql`,
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    database.node.addDependency(databaseLogs);
    // the instance class as the config names it (db.t4g.micro ...), not CDK's InstanceType spelling
    const cfnDatabase = database.node.defaultChild as import("aws-cdk-lib/aws-rds").CfnDBInstance;
    cfnDatabase.dbInstanceClass = service.database.instanceClass;
    const databaseSecret = database.secret;
    if (!databaseSecret) throw new Error("the database was made without its generated secret");

    // -- Redis: a replication group with encryption at rest and in transit, AUTH from a generated secret
    const redisAuth = new Secret(this, "RedisAuthToken", {
      description: "Grouparoo's Redis AUTH token",
      // ElastiCache: 16-128 printable characters, none of @ " /
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const redisSubnets = new CfnSubnetGroup(this, "RedisSubnets", {
      description: "Grouparoo's Redis: the private subnets",
      subnetIds: privateSubnetIds.valueAsList,
    });
    const redis = new CfnReplicationGroup(this, "Redis", {
      replicationGroupDescription: "Grouparoo's queues and cache",
      engine: "redis",
      engineVersion: "7.1",
      cacheNodeType: service.redis.nodeType,
      numCacheClusters: 1,
      port: GROUPAROO_REDIS_PORT,
      cacheSubnetGroupName: redisSubnets.ref,
      securityGroupIds: [redisSecurityGroup.securityGroupId],
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      // a dynamic reference ({{resolve:secretsmanager:...}}): the token never enters the template
      authToken: redisAuth.secretValue.unsafeUnwrap(),
      automaticFailoverEnabled: false,
      snapshotRetentionLimit: 1,
    });

    // -- the server token Grouparoo's processes share
    const serverToken = new Secret(this, "ServerToken", {
      description: "Grouparoo's SERVER_TOKEN (its servers authenticate to each other with it)",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });

    // -- ECS: the cluster, the config files' copier, the web and worker tasks
    const cluster = new Cluster(this, "Cluster", {
      vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });
    const logGroup = new LogGroup(this, "Logs", {
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const appSecrets = Object.fromEntries(
      props.appSecrets.map(({ optionEnv, secretName }) => [
        optionEnv,
        EcsSecret.fromSsmParameter(
          StringParameter.fromSecureStringParameterAttributes(this, `AppSecret${optionEnv}`, {
            parameterName: Fn.join("", [secretPrefix.valueAsString, secretName]),
            simpleName: false,
          }),
        ),
      ]),
    );
    const secrets: Record<string, EcsSecret> = {
      DB_USER: EcsSecret.fromSecretsManager(databaseSecret, "username"),
      DB_PASS: EcsSecret.fromSecretsManager(databaseSecret, "password"),
      REDIS_PASS: EcsSecret.fromSecretsManager(redisAuth),
      SERVER_TOKEN: EcsSecret.fromSecretsManager(serverToken),
      ...appSecrets,
    };
    // The image's own DATABASE_URL / REDIS_URL defaults point at localhost: replaced by URLs
    // WITHOUT credentials; Grouparoo then takes the user and password from DB_USER / DB_PASS /
    // REDIS_PASS (core/src/config/sequelize.ts, redis.ts: a URL's empty password keeps them).
    const environment: Record<string, string> = {
      NODE_ENV: "production",
      PORT: String(GROUPAROO_PORT),
      WEB_URL: origin,
      DATABASE_URL: Fn.join("", [
        "postgresql://",
        database.dbInstanceEndpointAddress,
        ":",
        database.dbInstanceEndpointPort,
        `/${DATABASE_NAME}`,
      ]),
      // TLS to RDS; its CA is not in Node's store, so the certificate is not verified (ADR 0022)
      DATABASE_SSL: "true",
      DATABASE_SSL_SELF_SIGNED: "true",
      REDIS_URL: Fn.join("", [
        "rediss://",
        redis.attrPrimaryEndPointAddress,
        ":",
        redis.attrPrimaryEndPointPort,
        "/0",
      ]),
      GROUPAROO_CONFIG_DIR: `${CONFIG_MOUNT}/config`,
      GROUPAROO_LOGS_STDOUT_DISABLE_COLOR: "true",
      TAPESTRY_GROUPAROO_CONFIG_DIGEST: props.configDigest ?? "none",
    };

    const task = (
      role: "Web" | "Worker",
      size: { cpu: number; memoryMiB: number },
      process: Record<string, string>,
      start: string,
    ) => {
      const definition = new FargateTaskDefinition(this, `${role}Task`, {
        cpu: size.cpu,
        memoryLimitMiB: size.memoryMiB,
        runtimePlatform: {
          cpuArchitecture: CpuArchitecture.X86_64,
          operatingSystemFamily: OperatingSystemFamily.LINUX,
        },
        volumes: [{ name: "config" }],
      });
      const copier = definition.addContainer("ConfigCopier", {
        image: ContainerImage.fromRegistry(GROUPAROO_CONFIG_COPIER_IMAGE),
        essential: false,
        entryPoint: ["/bin/sh", "-c"],
        // fail (and so keep Grouparoo from starting) when the provision run has written no config
        command: [
          `aws s3 cp --recursive --only-show-errors "s3://$CONFIG_BUCKET/${CONFIG_PREFIX}" ${CONFIG_MOUNT}/ && test -d ${CONFIG_MOUNT}/config`,
        ],
        environment: { CONFIG_BUCKET: configBucketName.valueAsString, AWS_REGION: this.region },
        logging: LogDrivers.awsLogs({ logGroup, streamPrefix: `${role.toLowerCase()}-config` }),
        memoryReservationMiB: 128,
      });
      copier.addMountPoints({ containerPath: CONFIG_MOUNT, sourceVolume: "config", readOnly: false });
      const app = definition.addContainer("Grouparoo", {
        image: ContainerImage.fromRegistry(service.image),
        essential: true,
        entryPoint: ["/bin/sh", "-c"],
        command: [start],
        environment: { ...environment, ...process },
        secrets,
        logging: LogDrivers.awsLogs({ logGroup, streamPrefix: role.toLowerCase() }),
        portMappings: role === "Web" ? [{ containerPort: GROUPAROO_PORT }] : [],
      });
      app.addMountPoints({ containerPath: CONFIG_MOUNT, sourceVolume: "config", readOnly: true });
      app.addContainerDependencies({ container: copier, condition: ContainerDependencyCondition.SUCCESS });
      // the copier reads the config files, and nothing else of the bucket
      definition.taskRole.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ["s3:GetObject"],
          resources: [
            Fn.join("", [
              "arn:",
              this.partition,
              ":s3:::",
              configBucketName.valueAsString,
              `/${CONFIG_PREFIX}*`,
            ]),
          ],
        }),
      );
      definition.taskRole.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ["s3:ListBucket"],
          resources: [Fn.join("", ["arn:", this.partition, ":s3:::", configBucketName.valueAsString])],
          conditions: { StringLike: { "s3:prefix": [`${CONFIG_PREFIX}*`] } },
        }),
      );
      return definition;
    };

    const grouparoo = "./node_modules/.bin/grouparoo";
    // the web process applies the config files (migrating first) before it serves; the worker
    // loads the same files at start (Grouparoo's codeConfig initializer)
    const webTask = task(
      "Web",
      service.web,
      { WEB_SERVER: "true", WORKERS: "0" },
      `${grouparoo} apply && exec ${grouparoo} start`,
    );
    const workerTask = task(
      "Worker",
      service.worker,
      { WEB_SERVER: "false", WORKERS: String(service.worker.workers) },
      `exec ${grouparoo} start`,
    );

    const web = new FargateService(this, "WebService", {
      cluster,
      taskDefinition: webTask,
      desiredCount: 1,
      vpcSubnets: privateSubnets,
      securityGroups: [taskSecurityGroup],
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      // migrations and `grouparoo apply` run before the first answer
      healthCheckGracePeriod: Duration.minutes(10),
      // a task that cannot start fails the deploy (StackDeployFailed) instead of retrying for hours
      circuitBreaker: { enable: true, rollback: true },
    });
    const worker = new FargateService(this, "WorkerService", {
      cluster,
      taskDefinition: workerTask,
      desiredCount: service.worker.count,
      vpcSubnets: privateSubnets,
      securityGroups: [taskSecurityGroup],
      assignPublicIp: false,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
    });
    // created after the web service is stable, so `grouparoo apply` migrates a new database alone
    worker.node.addDependency(web);

    // -- the load balancer: HTTPS with the certificate (HTTP redirects), plain HTTP without
    const accessLogs = new Bucket(this, "AccessLogs", {
      // ALB access logs are delivered to SSE-S3 buckets only
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(ACCESS_LOG_DAYS) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const alb = new ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc,
      vpcSubnets: publicSubnets,
      internetFacing: true,
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    alb.logAccessLogs(accessLogs, "grouparoo");
    const targets = {
      port: GROUPAROO_PORT,
      protocol: ApplicationProtocol.HTTP,
      targets: [web],
      healthCheck: { path: GROUPAROO_HEALTH_PATH, healthyHttpCodes: "200", interval: Duration.seconds(30) },
      deregistrationDelay: Duration.seconds(30),
    };
    if (hosting.certificateArn) {
      const https = alb.addListener("Https", {
        port: 443,
        protocol: ApplicationProtocol.HTTPS,
        certificates: [ListenerCertificate.fromArn(hosting.certificateArn)],
        sslPolicy: SslPolicy.RECOMMENDED_TLS,
        open: false,
      });
      https.addTargets("Web", targets);
      alb.addListener("Http", {
        port: 80,
        protocol: ApplicationProtocol.HTTP,
        open: false,
        defaultAction: ListenerAction.redirect({ protocol: "HTTPS", port: "443", permanent: true }),
      });
    } else {
      const http = alb.addListener("Http", { port: 80, protocol: ApplicationProtocol.HTTP, open: false });
      http.addTargets("Web", targets);
    }

    if (hosting.hostedZone) {
      const zoneName = hosting.hostedZone.name;
      if (url.hostname !== zoneName && !url.hostname.endsWith(`.${zoneName}`)) {
        throw new Error(
          `tools.grouparoo.baseUrl's host ${url.hostname} is not in provisioning.hostedZone ${zoneName}: use a host of the zone, or drop hostedZone and CNAME the host to the LoadBalancerDnsName output`,
        );
      }
      new ARecord(this, "DnsRecord", {
        zone: HostedZone.fromHostedZoneAttributes(this, "Zone", {
          hostedZoneId: hosting.hostedZone.id,
          zoneName,
        }),
        recordName: `${url.hostname}.`,
        target: RecordTarget.fromAlias(new LoadBalancerTarget(alb)),
      });
    }

    new CfnOutput(this, "Url", { value: origin, description: "Grouparoo's address (WEB_URL)" });
    new CfnOutput(this, "LoadBalancerDnsName", {
      value: alb.loadBalancerDnsName,
      description: "CNAME the Url's host to this name when the stack has no hosted zone",
    });
    new CfnOutput(this, "HttpOnly", {
      value: httpOnly ? "true" : "false",
      description: "true: no certificate, the load balancer answers plain HTTP",
    });
    new CfnOutput(this, "ClusterName", { value: cluster.clusterName });
    new CfnOutput(this, "WebServiceName", { value: web.serviceName });
    new CfnOutput(this, "WorkerServiceName", { value: worker.serviceName });

    suppressFindings(this, {
      accessLogs,
      database,
      secrets: [redisAuth, serverToken],
      tasks: [webTask, workerTask],
      redis,
      albSecurityGroup,
      publicInternet:
        hosting.allowPublicInternet && hosting.allowedCidrs.some((cidr) => OPEN_CIDRS.has(cidr)),
    });
  }
}

/**
 * The database's identifier, fixed by stage: deletion protection is on, so whoever deletes the
 * stack (the deprovision run) first turns it off on this instance (rds:ModifyDBInstance).
 */
export function grouparooDatabaseInstanceId(stage: string): string {
  return `tapestry-${stage}-grouparoo`;
}

/** How many /32s ControlPlaneEgressCidrs carries: one per NAT gateway of a new VPC, the configured list for an existing one. */
function egressCidrCount(hosting: GrouparooHosting): number {
  return hosting.network.vpc === "new" ? hosting.network.natGateways : hosting.network.egressCidrs.length;
}

/** An image with a tag that names a release (or a digest): never `latest`, never none. */
function assertPinnedImage(image: string): void {
  if (image.includes("@sha256:")) return;
  const tag = image.slice(image.lastIndexOf("/") + 1).split(":")[1];
  if (!tag || tag === "latest") {
    throw new Error(
      `provisioning.grouparooService.image ${JSON.stringify(image)} is not pinned: name a release tag such as grouparoo/omnibus:v0.9.0`,
    );
  }
}

interface Suppressed {
  readonly accessLogs: Bucket;
  readonly database: DatabaseInstance;
  readonly secrets: readonly Secret[];
  readonly tasks: readonly FargateTaskDefinition[];
  readonly redis: CfnReplicationGroup;
  readonly albSecurityGroup: SecurityGroup;
  readonly publicInternet: boolean;
}

const NO_ROTATION =
  "Rotation needs a rotation Lambda (not allowed in a tool stack that deploys from its template alone) and Grouparoo reads the credential only at start; rotate by re-creating the secret and a new deployment";

/** cdk-nag AwsSolutions findings this stack answers by design, each with its reason (docs/self-hosting.md lists them). */
function suppressFindings(stack: Stack, s: Suppressed): void {
  NagSuppressions.addResourceSuppressions(s.accessLogs, [
    {
      id: "AwsSolutions-S1",
      reason: "The bucket holds the load balancer's access logs: logging its own reads would log the logs",
    },
  ]);
  NagSuppressions.addResourceSuppressions(
    s.database,
    [
      {
        id: "AwsSolutions-RDS3",
        reason:
          "Multi-AZ follows provisioning.grouparooService.database.multiAz (off by default: Grouparoo's state is rebuilt from the warehouse; automated backups and a final snapshot keep it)",
      },
      { id: "AwsSolutions-SMG4", reason: NO_ROTATION },
    ],
    true,
  );
  for (const secret of s.secrets) {
    NagSuppressions.addResourceSuppressions(secret, [{ id: "AwsSolutions-SMG4", reason: NO_ROTATION }]);
  }
  for (const task of s.tasks) {
    NagSuppressions.addResourceSuppressions(
      task,
      [
        {
          id: "AwsSolutions-ECS2",
          reason:
            "The environment holds no secret (ports, URLs without credentials, flags, the config bucket's name); every credential comes through ECS secrets (test/infra/tools-grouparoo.test.ts checks it)",
        },
        {
          id: "AwsSolutions-IAM5",
          reason:
            "The config copier reads every file under the bucket's grouparoo/ prefix (their names follow the config's ids); ECS's secret reads are scoped to the named secrets",
          appliesTo: [
            { regex: "/^Resource::arn:<AWS::Partition>:s3:::<GrouparooConfigBucket>/grouparoo/\\*$/g" },
          ],
        },
      ],
      true,
    );
  }
  NagSuppressions.addResourceSuppressions(s.redis, [
    {
      id: "AwsSolutions-AEC4",
      reason:
        "One node: Redis holds only Grouparoo's job queues and cache, which it refills; a failed node is replaced by ElastiCache",
    },
  ]);
  NagSuppressions.addResourceSuppressions(s.albSecurityGroup, [
    {
      id: "CdkNagValidationFailure",
      reason:
        "EC23 cannot read the ControlPlaneEgressCidrs parameter's values; the parameter's AllowedPattern makes CloudFormation refuse any value wider than /8 (so never 0.0.0.0/0)",
      appliesTo: ["AwsSolutions-EC23"],
    },
  ]);
  if (s.publicInternet) {
    NagSuppressions.addResourceSuppressions(s.albSecurityGroup, [
      {
        id: "AwsSolutions-EC23",
        reason: "The config sets allowPublicInternet: true with 0.0.0.0/0 in allowedCidrs",
      },
    ]);
  }
  void stack;
}
