import type { HostingConfig } from "@tapestry/core/config";
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Tags, Token } from "aws-cdk-lib";
import type { IVpc, SecurityGroup, SubnetSelection } from "aws-cdk-lib/aws-ec2";
import { Secret as EcsSecret, type FargateService } from "aws-cdk-lib/aws-ecs";
import {
  ApplicationLoadBalancer,
  ApplicationProtocol,
  ListenerAction,
  ListenerCertificate,
  SslPolicy,
} from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { ARecord, HostedZone, RecordTarget } from "aws-cdk-lib/aws-route53";
import { LoadBalancerTarget } from "aws-cdk-lib/aws-route53-targets";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import {
  GROUPAROO_DATABASE_NAME,
  GROUPAROO_DATABASE_PORT,
  GROUPAROO_REDIS_PORT,
  grouparooDatabase,
  grouparooRedis,
} from "./grouparoo-data";
import { suppressGrouparooFindings } from "./grouparoo-nag";
import { grouparooSecurityGroups, grouparooStackInputs, opensToInternet } from "./grouparoo-network";
import type { GrouparooAppSecret } from "./grouparoo-props";
import {
  appOptionSecrets,
  GROUPAROO_PORT,
  grouparooServices,
  TAPESTRY_API_KEY_VARIABLE,
} from "./grouparoo-services";

export interface GrouparooToolStackProps extends StackProps {
  readonly stage: string;
  /** the config's `provisioning` section (packages/core/src/config/hosting-schema.ts) */
  readonly hosting: HostingConfig;
  /** tools.grouparoo.baseUrl's origin: Grouparoo's WEB_URL, the DNS record's name with a hosted zone */
  readonly grouparooUrl: string;
  /** the app options' secrets the config files reference (grouparooAppSecrets(config)) */
  readonly appSecrets: readonly GrouparooAppSecret[];
  /** the secret (tools.grouparoo.apiKeySecret) whose value becomes the API key Tapestry's connector calls Grouparoo with */
  readonly apiKeySecret: string;
  /**
   * grouparooConfigDigest(config): changed config files roll the services. Without it (the config
   * declares no grouparoo section, so no file is written) Grouparoo starts with an empty config
   * folder; with it, a task whose copy brought no config/ folder does not start.
   */
  readonly configDigest?: string | undefined;
}

/** Grouparoo's unauthenticated status route (core/src/config/routes.ts `status:public`, under urlPathForActions `api`) */
export const GROUPAROO_HEALTH_PATH = "/api/v1/status/public";
const LOG_RETENTION = RetentionDays.THREE_MONTHS;
const ACCESS_LOG_DAYS = 90;

/**
 * The self-hosted Grouparoo (issue 11): the pinned omnibus image on ECS Fargate as a web service
 * behind an internet-facing ALB and a worker service, Postgres on RDS and Redis on ElastiCache,
 * all in the private subnets. Deployed by the provision state machine from its template alone (no
 * asset, no custom resource); what only the deployed app knows comes in as Parameters
 * (grouparoo-network.ts, the shared-s17 contract). No secret is in the template or in a task's
 * environment: credentials are generated into Secrets Manager and reach the containers through ECS
 * `secrets`; the app options' secrets come from the app's SSM SecureStrings. Config files: ADR 0025.
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
    const service = hosting.grouparooService;
    assertPinnedImage(service.image);
    // as the SST app tags its own (stacks/index.ts), so the tools' costs show per stage
    Tags.of(this).add("app", "tapestry");
    Tags.of(this).add("stage", props.stage);
    Tags.of(this).add("tool", "grouparoo");
    const url = new URL(props.grouparooUrl);
    const httpOnly = hosting.certificateArn === undefined;

    const inputs = grouparooStackInputs(this);
    const groups = grouparooSecurityGroups(this, {
      vpc: inputs.vpc,
      hosting,
      egressCidrs: inputs.egressCidrs,
      listenerPorts: httpOnly ? [80] : [80, 443],
      databasePort: GROUPAROO_DATABASE_PORT,
      redisPort: GROUPAROO_REDIS_PORT,
    });
    const database = grouparooDatabase(this, {
      stage: props.stage,
      vpc: inputs.vpc,
      subnets: inputs.privateSubnets,
      securityGroup: groups.database,
      size: service.database,
      logRetention: LOG_RETENTION,
    });
    const redis = grouparooRedis(this, {
      subnetIds: inputs.privateSubnetIds,
      securityGroup: groups.redis,
      size: service.redis,
    });
    const serverToken = new Secret(this, "ServerToken", {
      description: "Grouparoo's SERVER_TOKEN (its servers authenticate to each other with it)",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });

    const services = grouparooServices(this, {
      vpc: inputs.vpc,
      subnets: inputs.privateSubnets,
      securityGroup: groups.tasks,
      service,
      configBucketName: inputs.configBucketName,
      configFilesRequired: props.configDigest !== undefined,
      logRetention: LOG_RETENTION,
      // The image's own DATABASE_URL / REDIS_URL defaults point at localhost: replaced by URLs
      // WITHOUT credentials; Grouparoo then takes the user and password from DB_USER / DB_PASS /
      // REDIS_PASS (core/src/config/sequelize.ts, redis.ts: a URL's empty password keeps them).
      environment: {
        NODE_ENV: "production",
        PORT: String(GROUPAROO_PORT),
        WEB_URL: url.origin,
        DATABASE_URL: Fn.join("", [
          "postgresql://",
          database.instance.dbInstanceEndpointAddress,
          ":",
          database.instance.dbInstanceEndpointPort,
          `/${GROUPAROO_DATABASE_NAME}`,
        ]),
        // TLS to RDS; its CA is not in Node's store, so the certificate is not verified (ADR 0025)
        DATABASE_SSL: "true",
        DATABASE_SSL_SELF_SIGNED: "true",
        REDIS_URL: Fn.join("", [
          "rediss://",
          redis.group.attrPrimaryEndPointAddress,
          ":",
          redis.group.attrPrimaryEndPointPort,
          "/0",
        ]),
        GROUPAROO_LOGS_STDOUT_DISABLE_COLOR: "true",
        TAPESTRY_GROUPAROO_CONFIG_DIGEST: props.configDigest ?? "none",
      },
      secrets: {
        DB_USER: EcsSecret.fromSecretsManager(database.secret, "username"),
        DB_PASS: EcsSecret.fromSecretsManager(database.secret, "password"),
        REDIS_PASS: EcsSecret.fromSecretsManager(redis.authToken),
        SERVER_TOKEN: EcsSecret.fromSecretsManager(serverToken),
        ...appOptionSecrets(this, inputs.secretParameterPrefix, props.appSecrets),
        ...appOptionSecrets(this, inputs.secretParameterPrefix, [
          { optionEnv: TAPESTRY_API_KEY_VARIABLE, secretName: props.apiKeySecret },
        ]),
      },
    });

    const { loadBalancer, accessLogs } = this.loadBalancer({
      vpc: inputs.vpc,
      subnets: inputs.publicSubnets,
      securityGroup: groups.loadBalancer,
      web: services.web,
      certificateArn: hosting.certificateArn,
    });
    if (hosting.hostedZone) this.dnsRecord(hosting.hostedZone, url, loadBalancer);

    new CfnOutput(this, "Url", { value: url.origin, description: "Grouparoo's address (WEB_URL)" });
    new CfnOutput(this, "LoadBalancerDnsName", {
      value: loadBalancer.loadBalancerDnsName,
      description: "CNAME the Url's host to this name when the stack has no hosted zone",
    });
    new CfnOutput(this, "HttpOnly", {
      value: httpOnly ? "true" : "false",
      description: "true: no certificate, the load balancer answers plain HTTP",
    });
    new CfnOutput(this, "ClusterName", { value: services.cluster.clusterName });
    new CfnOutput(this, "WebServiceName", { value: services.web.serviceName });
    new CfnOutput(this, "WorkerServiceName", { value: services.worker.serviceName });

    suppressGrouparooFindings({
      accessLogs,
      database: database.instance,
      secrets: [redis.authToken, serverToken],
      tasks: services.tasks,
      redis: redis.group,
      loadBalancerSecurityGroup: groups.loadBalancer,
      opensToInternet: opensToInternet(hosting),
    });
  }

  /** Internet-facing, in the public subnets: HTTPS with the certificate (HTTP redirects), plain HTTP without; access logs; invalid headers dropped. */
  private loadBalancer(props: {
    vpc: IVpc;
    subnets: SubnetSelection;
    securityGroup: SecurityGroup;
    web: FargateService;
    certificateArn: string | undefined;
  }) {
    const accessLogs = new Bucket(this, "AccessLogs", {
      // ALB access logs are delivered to SSE-S3 buckets only
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(ACCESS_LOG_DAYS) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const loadBalancer = new ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      internetFacing: true,
      securityGroup: props.securityGroup,
      dropInvalidHeaderFields: true,
    });
    loadBalancer.logAccessLogs(accessLogs, "grouparoo");
    const targets = {
      port: GROUPAROO_PORT,
      protocol: ApplicationProtocol.HTTP,
      targets: [props.web],
      healthCheck: { path: GROUPAROO_HEALTH_PATH, healthyHttpCodes: "200", interval: Duration.seconds(30) },
      deregistrationDelay: Duration.seconds(30),
    };
    if (props.certificateArn) {
      const https = loadBalancer.addListener("Https", {
        port: 443,
        protocol: ApplicationProtocol.HTTPS,
        certificates: [ListenerCertificate.fromArn(props.certificateArn)],
        sslPolicy: SslPolicy.RECOMMENDED_TLS,
        open: false,
      });
      https.addTargets("Web", targets);
      loadBalancer.addListener("Http", {
        port: 80,
        protocol: ApplicationProtocol.HTTP,
        open: false,
        defaultAction: ListenerAction.redirect({ protocol: "HTTPS", port: "443", permanent: true }),
      });
    } else {
      const http = loadBalancer.addListener("Http", {
        port: 80,
        protocol: ApplicationProtocol.HTTP,
        open: false,
      });
      http.addTargets("Web", targets);
    }
    return { loadBalancer, accessLogs };
  }

  /** An A alias record for the URL's host in the zone (parseConfig refuses a host outside it; so does this). */
  private dnsRecord(
    zone: { id: string; name: string },
    url: URL,
    loadBalancer: ApplicationLoadBalancer,
  ): void {
    if (url.hostname !== zone.name && !url.hostname.endsWith(`.${zone.name}`)) {
      throw new Error(
        `tools.grouparoo.baseUrl's host ${url.hostname} is not in provisioning.hostedZone ${zone.name}: use a host of the zone, or drop hostedZone and CNAME the host to the LoadBalancerDnsName output`,
      );
    }
    new ARecord(this, "DnsRecord", {
      zone: HostedZone.fromHostedZoneAttributes(this, "Zone", { hostedZoneId: zone.id, zoneName: zone.name }),
      recordName: `${url.hostname}.`,
      target: RecordTarget.fromAlias(new LoadBalancerTarget(loadBalancer)),
    });
  }
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
