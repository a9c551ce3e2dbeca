import { spawnSync } from "node:child_process";
import { type HostingConfig, parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, type INagLogger } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { EGRESS_CIDR_PATTERN } from "../../stacks/tools/grouparoo-network";
import { grouparooToolStackProps } from "../../stacks/tools/grouparoo-props";
import { GROUPAROO_CONFIG_COPIER_IMAGE } from "../../stacks/tools/grouparoo-services";
import {
  GROUPAROO_HEALTH_PATH,
  GrouparooToolStack,
  type GrouparooToolStackProps,
} from "../../stacks/tools/grouparoo-stack";
import type { Loose } from "../support/invalid-configs";
import { selfHostedKickstart } from "../support/self-hosted-config";
import { TEST_ACCOUNT, TEST_REGION } from "./synth";
import { propertyOf } from "./template-queries";

/**
 * The self-hosted Grouparoo stack (issue 11), synthesized alone in its own CDK App as the tool
 * stacks' templates are (no SST, no asset), from the kickstart with a provisioning section, and
 * checked offline: its network exposure, encryption, how credentials reach the containers, its
 * outputs, and cdk-nag's AwsSolutions pack.
 */

const selfHosted = (change: (config: Loose) => void = () => {}): TapestryConfig =>
  parseConfig(selfHostedKickstart(change), "tapestry.config.ts");

/** Without a certificate or a zone (plain HTTP), two NAT gateways, four worker processes. */
const PLAIN = selfHosted((config) => {
  config.tools.airbyte.baseUrl = "http://airbyte.rain-shield.example/api/public/v1";
  config.tools.grouparoo.baseUrl = "http://grouparoo.rain-shield.example";
  delete config.provisioning.certificateArn;
  delete config.provisioning.hostedZone;
  config.provisioning.network = { vpc: "new", natGateways: 2 };
  config.provisioning.grouparooService = { worker: { workers: 4 } };
});
/** The helper's own: HTTPS with a certificate, DNS in its hosted zone. */
const HTTPS = selfHosted();

function synthProps(props: GrouparooToolStackProps) {
  const app = new App();
  const stack = new GrouparooToolStack(app, "Grouparoo", props);
  return { app, stack, template: Template.fromStack(stack) };
}

function synth(config: TapestryConfig = PLAIN, hosting: Partial<HostingConfig> = {}) {
  const props = grouparooToolStackProps(config, "test");
  return synthProps({
    ...props,
    hosting: { ...props.hosting, ...hosting },
    env: { account: TEST_ACCOUNT, region: TEST_REGION },
  });
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
}

const resources = (template: Template, type: string): Resource[] =>
  Object.values(template.toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === type);

interface ContainerDefinition {
  readonly Name: string;
  readonly Image: unknown;
  readonly Environment?: { Name: string; Value: unknown }[];
  readonly Secrets?: { Name: string; ValueFrom: unknown }[];
  readonly Essential?: boolean;
  readonly DependsOn?: { ContainerName: string; Condition: string }[];
  readonly Command?: string[];
}

const containers = (template: Template): ContainerDefinition[] =>
  resources(template, "AWS::ECS::TaskDefinition").flatMap(
    (t) => t.Properties?.ContainerDefinitions as ContainerDefinition[],
  );

function nag(stack: GrouparooToolStack) {
  const unsuppressed: string[] = [];
  const suppressed: { ruleId: string; reason: string }[] = [];
  const ruleErrors: string[] = [];
  const logger: INagLogger = {
    onCompliance: () => undefined,
    onNotApplicable: () => undefined,
    onNonCompliance: (d) => unsuppressed.push(`${d.ruleId} ${d.findingId} ${d.resource.node.path}`),
    onSuppressed: (d) => suppressed.push({ ruleId: d.ruleId, reason: d.suppressionReason }),
    onError: (d) => ruleErrors.push(`${d.ruleId} ${d.resource.node.path}: ${d.errorMessage}`),
    onSuppressedError: () => undefined,
  };
  const pack = new AwsSolutionsChecks({ additionalLoggers: [logger], reports: false });
  for (const construct of stack.node.findAll()) pack.visit(construct);
  return { unsuppressed, suppressed, ruleErrors };
}

describe("the Grouparoo tool stack", () => {
  const { app, stack, template } = synth();

  it("takes the deployer's parameters by their contract names and answers the contract's outputs", () => {
    const json = template.toJSON() as {
      Parameters: Record<string, { Type: string }>;
      Outputs: Record<string, unknown>;
    };
    expect(Object.fromEntries(Object.entries(json.Parameters).map(([k, v]) => [k, v.Type]))).toEqual(
      expect.objectContaining({
        VpcId: "AWS::EC2::VPC::Id",
        PublicSubnetIds: "List<AWS::EC2::Subnet::Id>",
        PrivateSubnetIds: "List<AWS::EC2::Subnet::Id>",
        ControlPlaneEgressCidrs: "CommaDelimitedList",
        GrouparooConfigBucket: "String",
        SecretParameterPrefix: "String",
      }),
    );
    expect(Object.keys(json.Outputs).sort()).toEqual(
      ["ClusterName", "HttpOnly", "LoadBalancerDnsName", "Url", "WebServiceName", "WorkerServiceName"].sort(),
    );
    template.hasOutput("Url", { Value: "http://grouparoo.rain-shield.example" });
  });

  it("deploys from its template alone: no asset, no Lambda, no custom resource", () => {
    const assembly = app.synth();
    const artifact = assembly.getStackArtifact(stack.artifactId);
    expect(artifact.assets).toEqual([]);
    const types = new Set(
      Object.values(template.toJSON().Resources as Record<string, Resource>).map((r) => r.Type),
    );
    expect(
      [...types].filter(
        (t) =>
          t.startsWith("Custom::") ||
          t === "AWS::Lambda::Function" ||
          t === "AWS::CloudFormation::CustomResource",
      ),
    ).toEqual([]);
  });

  it("lets no one in from 0.0.0.0/0 by default, and nothing on port 22", () => {
    const ingress = resources(template, "AWS::EC2::SecurityGroup").flatMap(
      (g) => (g.Properties?.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? [],
    );
    const separate = resources(template, "AWS::EC2::SecurityGroupIngress").map((r) => r.Properties ?? {});
    const rules = [...ingress, ...separate];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.CidrIp).not.toBe("0.0.0.0/0");
      expect(rule.CidrIpv6).not.toBe("::/0");
      const from = Number(rule.FromPort);
      const to = Number(rule.ToPort);
      expect(from <= 22 && 22 <= to).toBe(false);
    }
    // the allowed CIDR and one rule per NAT gateway's /32 of the control plane, on the one listener port
    const albRules = ingress.filter((r) => r.FromPort === 80);
    expect(albRules.map((r) => r.CidrIp)).toEqual([
      "203.0.113.0/24",
      { "Fn::Select": [0, { Ref: "ControlPlaneEgressCidrs" }] },
      { "Fn::Select": [1, { Ref: "ControlPlaneEgressCidrs" }] },
    ]);
  });

  it("lets the tasks in only from the load balancer, and Postgres and Redis only from the tasks", () => {
    const groupOf = (prefix: string) => {
      const ids = Object.entries(template.toJSON().Resources as Record<string, Resource>)
        .filter(([id, r]) => r.Type === "AWS::EC2::SecurityGroup" && id.startsWith(prefix))
        .map(([id]) => id);
      expect(ids, prefix).toHaveLength(1);
      return { "Fn::GetAtt": [ids[0], "GroupId"] };
    };
    const [alb, tasks, database, redis] = [
      "LoadBalancerSecurityGroup",
      "TaskSecurityGroup",
      "DatabaseSecurityGroup",
      "RedisSecurityGroup",
    ].map(groupOf);
    const rules = resources(template, "AWS::EC2::SecurityGroupIngress").map((r) => ({
      to: r.Properties?.GroupId,
      from: r.Properties?.SourceSecurityGroupId,
      port: r.Properties?.FromPort,
      toPort: r.Properties?.ToPort,
    }));
    expect(rules).toHaveLength(3);
    expect(rules).toEqual(
      expect.arrayContaining([
        { to: tasks, from: alb, port: 3000, toPort: 3000 },
        { to: database, from: tasks, port: 5433, toPort: 5433 },
        { to: redis, from: tasks, port: 6380, toPort: 6380 },
      ]),
    );
  });

  it("in an existing VPC, admits one value of ControlPlaneEgressCidrs per configured egress CIDR", () => {
    const existing = synth(
      selfHosted((config) => {
        config.provisioning.network = {
          vpc: "existing",
          vpcId: "vpc-0123456789abcdef0",
          publicSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
          privateSubnetIds: ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"],
          egressCidrs: ["198.51.100.7/32", "198.51.100.8/32", "198.51.100.9/32"],
        };
      }),
    );
    const ingress = resources(existing.template, "AWS::EC2::SecurityGroup").flatMap(
      (g) => (g.Properties?.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? [],
    );
    const selected = ingress
      .filter((r) => r.FromPort === 443)
      .map((r) => JSON.stringify(r.CidrIp))
      .filter((cidr) => cidr.includes("ControlPlaneEgressCidrs"));
    expect(selected).toHaveLength(3);
    expect(nag(existing.stack).unsuppressed).toEqual([]);
  });

  it("lets CloudFormation refuse a control plane egress wider than /8 (each value of the list)", () => {
    const json = template.toJSON() as { Parameters: Record<string, { AllowedPattern?: string }> };
    expect(json.Parameters.ControlPlaneEgressCidrs?.AllowedPattern).toBe(EGRESS_CIDR_PATTERN);
    const pattern = new RegExp(EGRESS_CIDR_PATTERN);
    for (const ok of ["198.51.100.7/32", "203.0.113.16/28", "10.0.0.0/8"])
      expect(pattern.test(ok), ok).toBe(true);
    for (const bad of ["0.0.0.0/0", "10.0.0.0/7", "198.51.100.7", "256.1.1.1/32", "::/0"])
      expect(pattern.test(bad), bad).toBe(false);
  });

  it("refuses 0.0.0.0/0 without allowPublicInternet (and an IPv6 range: the ALB is IPv4-only), and takes it with it", () => {
    // parseConfig refuses it (test/provisioning/hosting-config.test.ts); so does the stack, built by hand
    expect(() => synth(PLAIN, { allowedCidrs: ["0.0.0.0/0"] })).toThrow(/allowPublicInternet/);
    expect(() => synth(PLAIN, { allowedCidrs: ["203.0.113.0/24", "2001:db8::/48"] })).toThrow(
      /allowedCidrs\[1\] is 2001:db8::\/48, an IPv6 range, but the Grouparoo load balancer is IPv4-only/,
    );
    const open = synth(
      selfHosted((config) => {
        config.provisioning.allowedCidrs = ["0.0.0.0/0"];
        config.provisioning.allowPublicInternet = true;
      }),
    );
    open.template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: "0.0.0.0/0", FromPort: 443 })]),
    });
    const findings = nag(open.stack);
    expect(findings.unsuppressed).toEqual([]);
    expect(findings.suppressed).toContainEqual({
      ruleId: "AwsSolutions-EC23",
      reason: expect.stringMatching(/allowPublicInternet/),
    });
  });

  it("keeps Postgres private, encrypted, backed up, and snapshotted when its stack deletes it (no deletion protection, which would leave teardown stuck)", () => {
    const [db] = resources(template, "AWS::RDS::DBInstance");
    expect(db?.Properties).toEqual(
      expect.objectContaining({
        StorageEncrypted: true,
        PubliclyAccessible: false,
        BackupRetentionPeriod: 7,
        DeletionProtection: false,
        DBInstanceClass: "db.t4g.micro",
        Engine: "postgres",
      }),
    );
    expect(db?.DeletionPolicy).toBe("Snapshot");
    // its subnet group is the private subnets
    template.hasResourceProperties("AWS::RDS::DBSubnetGroup", {
      SubnetIds: [
        { "Fn::Select": [0, { Ref: "PrivateSubnetIds" }] },
        { "Fn::Select": [1, { Ref: "PrivateSubnetIds" }] },
      ],
    });
    template.hasResourceProperties("AWS::RDS::DBParameterGroup", { Parameters: { "rds.force_ssl": "1" } });
    // the master password is generated into Secrets Manager, read by CloudFormation by reference
    const password = JSON.stringify(db?.Properties?.MasterUserPassword);
    expect(password).toMatch(/resolve:secretsmanager:/);
  });

  it("encrypts Redis at rest and in transit, with an AUTH token referenced from Secrets Manager", () => {
    const [redis] = resources(template, "AWS::ElastiCache::ReplicationGroup");
    expect(redis?.Properties).toEqual(
      expect.objectContaining({ AtRestEncryptionEnabled: true, TransitEncryptionEnabled: true }),
    );
    const token = JSON.stringify(redis?.Properties?.AuthToken);
    expect(token).toMatch(/\{\{resolve:secretsmanager:/);
    expect(token).toMatch(/RedisAuthToken/);
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64, ExcludePunctuation: true }),
    });
  });

  it("passes every credential through ECS secrets, and no secret-like plaintext in any environment", () => {
    const all = containers(template);
    const grouparoo = all.filter((c) => c.Name === "Grouparoo");
    expect(grouparoo).toHaveLength(2);
    for (const container of grouparoo) {
      const secrets = Object.fromEntries(
        (container.Secrets ?? []).map((s) => [s.Name, JSON.stringify(s.ValueFrom)]),
      );
      expect(Object.keys(secrets).sort()).toEqual(
        [
          "DB_PASS",
          "DB_USER",
          "GROUPAROO_OPTION__APP__MAILCHIMP_API_KEY",
          "GROUPAROO_OPTION__APP__TAPESTRY_GROUPAROO_PRIVATE_KEY",
          "REDIS_PASS",
          "SERVER_TOKEN",
          "TAPESTRY_GROUPAROO_API_KEY",
        ].sort(),
      );
      // the key Tapestry's connector calls with: tools.grouparoo.apiKeySecret's SSM SecureString
      expect(secrets.TAPESTRY_GROUPAROO_API_KEY).toMatch(/SecretParameterPrefix.*GROUPAROO_API_KEY/);
      expect(secrets.DB_PASS).toMatch(/:password::/);
      expect(secrets.REDIS_PASS).toMatch(/RedisAuthToken/);
      // the app options' secrets: the app's SSM SecureStrings, under the prefix the deployer passes
      expect(secrets.GROUPAROO_OPTION__APP__MAILCHIMP_API_KEY).toMatch(/:parameter/);
      expect(secrets.GROUPAROO_OPTION__APP__MAILCHIMP_API_KEY).toMatch(
        /SecretParameterPrefix.*MAILCHIMP_API_KEY/,
      );
    }
    const secretLike = /PASSWORD|PASS$|SECRET|TOKEN|KEY/;
    const withCredentials = /:\/\/[^/\s"]*:[^/\s"]*@/;
    for (const container of all) {
      for (const variable of container.Environment ?? []) {
        const value = JSON.stringify(variable.Value);
        expect(withCredentials.test(value), `${container.Name} ${variable.Name}`).toBe(false);
        if (secretLike.test(variable.Name)) {
          // only names that are no secret: the config digest
          expect(variable.Name, container.Name).toBe("TAPESTRY_GROUPAROO_CONFIG_DIGEST");
        }
      }
    }
    // the image's own DATABASE_URL / REDIS_URL defaults are replaced by URLs without credentials
    const web = grouparoo[0];
    const env = Object.fromEntries((web?.Environment ?? []).map((v) => [v.Name, JSON.stringify(v.Value)]));
    expect(env.DATABASE_URL).toMatch(/postgresql:\/\//);
    expect(env.REDIS_URL).toMatch(/rediss:\/\//);
  });

  it("declares the API key Tapestry's connector calls with, its value read from the environment (no secret in the file)", () => {
    const copiers = containers(template).filter((c) => c.Name === "ConfigCopier");
    expect(copiers).toHaveLength(2);
    for (const copier of copiers) {
      const command = String(copier.Command?.[0]);
      // a .js config object, which Grouparoo's loader require()s: the value comes from the variable
      expect(command).toMatch(
        /printf '%s\\n' 'module\.exports = \{ class: "apiKey", id: "tapestry", .*apiKey: process\.env\.TAPESTRY_GROUPAROO_API_KEY, .*' > \/tapestry-grouparoo\/config\/apikeys\/tapestry\.js$/,
      );
      // written after the downloaded files, so a config without a grouparoo section gets it too
      expect(command.indexOf("aws s3 cp")).toBeLessThan(command.indexOf("apikeys"));
    }
  });

  it("runs the web and the worker processes from the pinned image on X86_64 Fargate, in the private subnets", () => {
    for (const task of resources(template, "AWS::ECS::TaskDefinition")) {
      expect(task.Properties?.RuntimePlatform).toEqual({
        CpuArchitecture: "X86_64",
        OperatingSystemFamily: "LINUX",
      });
      expect(task.Properties?.RequiresCompatibilities).toEqual(["FARGATE"]);
    }
    const images = containers(template).map((c) => c.Image);
    expect(new Set(images)).toEqual(new Set(["grouparoo/omnibus:v0.9.0", GROUPAROO_CONFIG_COPIER_IMAGE]));
    for (const image of images) expect(String(image)).toMatch(/:v?\d+\.\d+\.\d+$/);
    const env = (c: ContainerDefinition) =>
      Object.fromEntries((c.Environment ?? []).map((v) => [v.Name, v.Value]));
    const [web, worker] = containers(template).filter((c) => c.Name === "Grouparoo");
    expect(env(web as ContainerDefinition)).toEqual(
      expect.objectContaining({
        WEB_SERVER: "true",
        WORKERS: "0",
        PORT: "3000",
        WEB_URL: "http://grouparoo.rain-shield.example",
      }),
    );
    expect(env(worker as ContainerDefinition)).toEqual(
      expect.objectContaining({ WEB_SERVER: "false", WORKERS: "4" }),
    );
    for (const service of resources(template, "AWS::ECS::Service")) {
      const network = propertyOf<{ AwsvpcConfiguration: Record<string, unknown> }>(
        service,
        "NetworkConfiguration",
      ).AwsvpcConfiguration;
      expect(network.AssignPublicIp).toBe("DISABLED");
      expect(network.Subnets).toEqual([
        { "Fn::Select": [0, { Ref: "PrivateSubnetIds" }] },
        { "Fn::Select": [1, { Ref: "PrivateSubnetIds" }] },
      ]);
    }
    template.hasResourceProperties("AWS::ECS::Cluster", {
      ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }],
    });
  });

  it("copies the config files from S3 in an init container, and applies them before Grouparoo starts", () => {
    const all = containers(template);
    const copiers = all.filter((c) => c.Name === "ConfigCopier");
    expect(copiers).toHaveLength(2);
    for (const copier of copiers) {
      expect(copier.Essential).toBe(false);
      expect(copier.Command?.[0]).toMatch(/aws s3 cp --recursive .*grouparoo\/.* && test -d .*\/config/);
    }
    const [web, worker] = all.filter((c) => c.Name === "Grouparoo");
    for (const app of [web, worker]) {
      expect(app?.DependsOn).toEqual([{ ContainerName: "ConfigCopier", Condition: "SUCCESS" }]);
    }
    expect(web?.Command?.[0]).toMatch(/grouparoo apply && exec .*grouparoo start/);
    // the task role reads the grouparoo/ prefix of the bucket and nothing else
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "s3:GetObject",
            Resource: {
              "Fn::Join": [
                "",
                [
                  "arn:",
                  { Ref: "AWS::Partition" },
                  ":s3:::",
                  { Ref: "GrouparooConfigBucket" },
                  "/grouparoo/*",
                ],
              ],
            },
          }),
        ]),
      },
    });
  });

  it("starts Grouparoo with an empty config folder when the config declares no grouparoo section (no file is written)", () => {
    const byHand = synth(
      selfHosted((config) => {
        delete config.grouparoo;
      }),
    );
    const copiers = containers(byHand.template).filter((c) => c.Name === "ConfigCopier");
    expect(copiers).toHaveLength(2);
    for (const copier of copiers)
      expect(copier.Command?.[0]).toMatch(/ && mkdir -p \/tapestry-grouparoo\/config && mkdir -p /);
    const grouparoo = containers(byHand.template).filter((c) => c.Name === "Grouparoo");
    for (const container of grouparoo) {
      // no app option secrets: no app is declared
      expect((container.Secrets ?? []).map((s) => s.Name).sort()).toEqual([
        "DB_PASS",
        "DB_USER",
        "REDIS_PASS",
        "SERVER_TOKEN",
        "TAPESTRY_GROUPAROO_API_KEY",
      ]);
    }
  });

  it("runs shell commands that pass shellcheck", () => {
    for (const container of containers(template)) {
      const script = `#!/bin/sh\n${container.Command?.[0] ?? ""}\n`;
      const checked = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], {
        input: script,
        encoding: "utf8",
      });
      expect(checked.error, "shellcheck must be installed (Debian package shellcheck)").toBeUndefined();
      expect(`${checked.stdout}${checked.stderr}`, container.Name).toBe("");
      expect(checked.status, container.Name).toBe(0);
    }
  });

  it("rolls the services when the config files change, and only then", () => {
    const digestOf = (t: Template) =>
      containers(t)
        .find((c) => c.Name === "Grouparoo")
        ?.Environment?.find((v) => v.Name === "TAPESTRY_GROUPAROO_CONFIG_DIGEST")?.Value;
    const same = synth();
    const changed = synth(
      selfHosted((config) => {
        config.tools.airbyte.baseUrl = "http://airbyte.rain-shield.example/api/public/v1";
        config.tools.grouparoo.baseUrl = "http://grouparoo.rain-shield.example";
        delete config.provisioning.certificateArn;
        delete config.provisioning.hostedZone;
        config.provisioning.network = { vpc: "new", natGateways: 2 };
        config.provisioning.grouparooService = { worker: { workers: 4 } };
        config.grouparoo.model.name = "Customers";
      }),
    );
    // nothing else differs between the two templates
    const withoutDigest = (t: Template) =>
      JSON.stringify(t.toJSON()).replace(/"TAPESTRY_GROUPAROO_CONFIG_DIGEST","Value":"[0-9a-f]+"/g, "");
    expect(withoutDigest(changed.template)).toBe(withoutDigest(template));
    expect(digestOf(same.template)).toBe(digestOf(template));
    expect(digestOf(changed.template)).not.toBe(digestOf(template));
  });

  it("answers plain HTTP without a certificate (HttpOnly true), health-checked on Grouparoo's status route, logged, invalid headers dropped", () => {
    template.hasOutput("HttpOnly", { Value: "true" });
    template.resourceCountIs("AWS::ElasticLoadBalancingV2::Listener", 1);
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", { Port: 80, Protocol: "HTTP" });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: GROUPAROO_HEALTH_PATH,
      Port: 3000,
      TargetType: "ip",
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internet-facing",
      Subnets: [
        { "Fn::Select": [0, { Ref: "PublicSubnetIds" }] },
        { "Fn::Select": [1, { Ref: "PublicSubnetIds" }] },
      ],
      LoadBalancerAttributes: Match.arrayWith([
        { Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" },
        { Key: "access_logs.s3.enabled", Value: "true" },
      ]),
    });
  });

  it("serves HTTPS with the certificate and redirects HTTP when a certificate is given", () => {
    const { template: https } = synth(HTTPS);
    const certificate = HTTPS.provisioning?.certificateArn;
    https.hasOutput("HttpOnly", { Value: "false" });
    https.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 443,
      Protocol: "HTTPS",
      Certificates: [{ CertificateArn: certificate }],
      SslPolicy: Match.stringLikeRegexp("TLS13"),
    });
    https.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      DefaultActions: [
        Match.objectLike({
          Type: "redirect",
          RedirectConfig: Match.objectLike({ Protocol: "HTTPS", Port: "443" }),
        }),
      ],
    });
  });

  it("makes the DNS record with a hosted zone, and refuses a host outside the zone", () => {
    const zoned = synth(HTTPS);
    zoned.template.hasResourceProperties("AWS::Route53::RecordSet", {
      Name: "grouparoo.rain-shield.example.",
      Type: "A",
      HostedZoneId: "Z0123456789ABCDEFGHIJ",
    });
    template.resourceCountIs("AWS::Route53::RecordSet", 0);
    expect(() =>
      synth(HTTPS, { hostedZone: { id: "Z0123456789ABCDEFGHIJ", name: "other.example" } }),
    ).toThrow(/not in provisioning.hostedZone other.example/);
  });

  it("needs the app's region (the access logs' bucket policy is per region)", () => {
    const props = grouparooToolStackProps(PLAIN, "test");
    expect(() => new GrouparooToolStack(new App(), "Grouparoo", props)).toThrow(/needs env.region/);
  });

  it("refuses an image that is not pinned", () => {
    const service = PLAIN.provisioning?.grouparooService;
    if (!service) throw new Error("the config has no grouparooService");
    for (const image of ["grouparoo/omnibus", "grouparoo/omnibus:latest"]) {
      expect(() => synth(PLAIN, { grouparooService: { ...service, image } })).toThrow(/not pinned/);
    }
  });

  it("tags what it makes with the app, the stage and the tool", () => {
    for (const type of [
      "AWS::ECS::Cluster",
      "AWS::RDS::DBInstance",
      "AWS::ElasticLoadBalancingV2::LoadBalancer",
    ]) {
      template.hasResourceProperties(type, {
        Tags: Match.arrayWith([
          { Key: "app", Value: "tapestry" },
          { Key: "stage", Value: "test" },
          { Key: "tool", Value: "grouparoo" },
        ]),
      });
    }
  });

  it("keeps logs in CloudWatch with a retention", () => {
    const groups = resources(template, "AWS::Logs::LogGroup");
    expect(groups.length).toBeGreaterThanOrEqual(2);
    for (const group of groups) expect(group.Properties?.RetentionInDays).toBeGreaterThan(0);
  });

  it("passes cdk-nag's AwsSolutions pack: no unsuppressed finding, a reason for each suppression", () => {
    for (const variant of [stack, synth(HTTPS).stack]) {
      const findings = nag(variant);
      expect(findings.unsuppressed).toEqual([]);
      expect(findings.ruleErrors).toEqual([]);
      for (const suppression of findings.suppressed) expect(suppression.reason.length).toBeGreaterThan(40);
      // the table of docs/self-hosting.md: each of these answered by design, nothing else
      expect(new Set(findings.suppressed.map((s) => s.ruleId))).toEqual(
        new Set([
          "AwsSolutions-AEC4",
          "AwsSolutions-ECS2",
          "AwsSolutions-IAM5",
          "AwsSolutions-RDS3",
          "AwsSolutions-RDS10",
          "AwsSolutions-S1",
          "AwsSolutions-SMG4",
        ]),
      );
    }
  });
});
