import type { HostingConfig } from "@tapestry/core/config";
import { Duration, Fn, RemovalPolicy, type Stack } from "aws-cdk-lib";
import type { ISecurityGroup, IVpc, SubnetSelection } from "aws-cdk-lib/aws-ec2";
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
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { StringParameter } from "aws-cdk-lib/aws-ssm";
import type { GrouparooAppSecret } from "./grouparoo-props";

/** The image that copies the config files into the tasks (the official AWS CLI v2 image, pinned; its entrypoint is `aws`). */
export const GROUPAROO_CONFIG_COPIER_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.32.2";
/** Grouparoo's web port (the omnibus image's PORT) */
export const GROUPAROO_PORT = 3000;
/** Where the tasks' shared volume is mounted: the bucket's `grouparoo/` prefix is copied here, config/ under it */
const CONFIG_MOUNT = "/tapestry-grouparoo";

/** The id of the API key Tapestry's Grouparoo connector authenticates with. */
export const TAPESTRY_API_KEY_ID = "tapestry";
/** The variable the API key's value reaches the Grouparoo containers in (an ECS secret, never a file). */
export const TAPESTRY_API_KEY_VARIABLE = "TAPESTRY_GROUPAROO_API_KEY";
/**
 * The API key as a Grouparoo config object (a .js file, which Grouparoo's config loader `require`s,
 * so the value is read from the environment when Grouparoo loads it: the file holds no secret).
 * Without it, nothing in a Grouparoo Tapestry hosts matches tools.grouparoo.apiKeySecret.
 */
const TAPESTRY_API_KEY_OBJECT = `module.exports = { class: "apiKey", id: "${TAPESTRY_API_KEY_ID}", name: "Tapestry control plane", apiKey: process.env.${TAPESTRY_API_KEY_VARIABLE}, options: { permissionAllRead: true, permissionAllWrite: true } };`;
const CONFIG_PREFIX = "grouparoo/";
/** the omnibus image's WORKDIR is /grouparoo, its entrypoint this CLI */
const GROUPAROO_CLI = "./node_modules/.bin/grouparoo";

type Size = { readonly cpu: number; readonly memoryMiB: number };

export interface GrouparooServicesProps {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
  readonly service: HostingConfig["grouparooService"];
  readonly configBucketName: string;
  /** the provision run writes config files (a grouparoo section): a copy without config/ stops the task */
  readonly configFilesRequired: boolean;
  /** variables of both processes; none may hold a secret (test/infra/tools-grouparoo.test.ts scans them) */
  readonly environment: Readonly<Record<string, string>>;
  /** every credential, as ECS secrets (read by the task execution role at start) */
  readonly secrets: Readonly<Record<string, EcsSecret>>;
  readonly logRetention: RetentionDays;
}

export interface GrouparooServices {
  readonly cluster: Cluster;
  readonly web: FargateService;
  readonly worker: FargateService;
  readonly tasks: readonly FargateTaskDefinition[];
}

/**
 * The cluster (Container Insights) and Grouparoo's two processes on X86_64 Fargate (the omnibus
 * image is amd64 only), in the private subnets: the web process applies the config files
 * (migrating first) and serves; the worker loads the same files at start (Grouparoo's codeConfig
 * initializer) and runs the jobs. Each task copies the files first (ADR 0025).
 */
export function grouparooServices(stack: Stack, props: GrouparooServicesProps): GrouparooServices {
  const cluster = new Cluster(stack, "Cluster", {
    vpc: props.vpc,
    containerInsightsV2: ContainerInsights.ENABLED,
  });
  const logGroup = new LogGroup(stack, "Logs", {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });

  const task = (role: "Web" | "Worker", size: Size, process: Record<string, string>, start: string) => {
    const definition = new FargateTaskDefinition(stack, `${role}Task`, {
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
      // when files are expected, fail (and so keep Grouparoo from starting) if none came down
      command: [
        `aws s3 cp --recursive --only-show-errors "s3://$CONFIG_BUCKET/${CONFIG_PREFIX}" ${CONFIG_MOUNT}/ && ${
          props.configFilesRequired ? "test -d" : "mkdir -p"
        } ${CONFIG_MOUNT}/config && mkdir -p ${CONFIG_MOUNT}/config/apikeys && printf '%s\\n' '${TAPESTRY_API_KEY_OBJECT}' > ${CONFIG_MOUNT}/config/apikeys/${TAPESTRY_API_KEY_ID}.js`,
      ],
      environment: { CONFIG_BUCKET: props.configBucketName, AWS_REGION: stack.region },
      logging: LogDrivers.awsLogs({ logGroup, streamPrefix: `${role.toLowerCase()}-config` }),
      memoryReservationMiB: 128,
    });
    copier.addMountPoints({ containerPath: CONFIG_MOUNT, sourceVolume: "config", readOnly: false });
    const app = definition.addContainer("Grouparoo", {
      image: ContainerImage.fromRegistry(props.service.image),
      essential: true,
      entryPoint: ["/bin/sh", "-c"],
      command: [start],
      environment: {
        ...props.environment,
        GROUPAROO_CONFIG_DIR: `${CONFIG_MOUNT}/config`,
        ...process,
      },
      secrets: { ...props.secrets },
      logging: LogDrivers.awsLogs({ logGroup, streamPrefix: role.toLowerCase() }),
      portMappings: role === "Web" ? [{ containerPort: GROUPAROO_PORT }] : [],
    });
    app.addMountPoints({ containerPath: CONFIG_MOUNT, sourceVolume: "config", readOnly: true });
    app.addContainerDependencies({ container: copier, condition: ContainerDependencyCondition.SUCCESS });
    // the copier reads the config files, and nothing else of the bucket
    const bucketArn = Fn.join("", ["arn:", stack.partition, ":s3:::", props.configBucketName]);
    definition.taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:GetObject"],
        resources: [Fn.join("", [bucketArn, `/${CONFIG_PREFIX}*`])],
      }),
    );
    definition.taskRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:ListBucket"],
        resources: [bucketArn],
        conditions: { StringLike: { "s3:prefix": [`${CONFIG_PREFIX}*`] } },
      }),
    );
    return definition;
  };

  const webTask = task(
    "Web",
    props.service.web,
    { WEB_SERVER: "true", WORKERS: "0" },
    `${GROUPAROO_CLI} apply && exec ${GROUPAROO_CLI} start`,
  );
  const workerTask = task(
    "Worker",
    props.service.worker,
    { WEB_SERVER: "false", WORKERS: String(props.service.worker.workers) },
    `exec ${GROUPAROO_CLI} start`,
  );
  const common = {
    cluster,
    vpcSubnets: props.subnets,
    securityGroups: [props.securityGroup],
    assignPublicIp: false,
    minHealthyPercent: 100,
    maxHealthyPercent: 200,
    // a task that cannot start fails the deploy (StackDeployFailed) instead of retrying for hours
    circuitBreaker: { enable: true, rollback: true },
  };
  const web = new FargateService(stack, "WebService", {
    ...common,
    taskDefinition: webTask,
    desiredCount: 1,
    // migrations and `grouparoo apply` run before the first answer
    healthCheckGracePeriod: Duration.minutes(10),
  });
  const worker = new FargateService(stack, "WorkerService", {
    ...common,
    taskDefinition: workerTask,
    desiredCount: props.service.worker.count,
  });
  // created after the web service is stable, so `grouparoo apply` migrates a new database alone
  worker.node.addDependency(web);
  return { cluster, web, worker, tasks: [webTask, workerTask] };
}

/** An app option's secret as an ECS secret: the app's SSM SecureString `${prefix}<name>` (a name only known at deploy time). */
export function appOptionSecrets(
  stack: Stack,
  prefix: string,
  appSecrets: readonly GrouparooAppSecret[],
): Record<string, EcsSecret> {
  return Object.fromEntries(
    appSecrets.map(({ optionEnv, secretName }) => [
      optionEnv,
      EcsSecret.fromSsmParameter(
        StringParameter.fromSecureStringParameterAttributes(stack, `AppSecret${optionEnv}`, {
          parameterName: Fn.join("", [prefix, secretName]),
          simpleName: false,
        }),
      ),
    ]),
  );
}
