import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "@tapestry/core/config";
import { App } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, type INagLogger } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { AL2023_AMI_PARAMETER } from "../../stacks/tools/airbyte-host";
import { AIRBYTE_HEALTH_PATH } from "../../stacks/tools/airbyte-load-balancer";
import {
  AIRBYTE_STACK_PARAMETERS,
  type AirbyteHosting,
  AirbyteToolStack,
  airbyteToolStackProps,
} from "../../stacks/tools/airbyte-stack";
import type { Loose } from "../support/invalid-configs";
import { selfHostedKickstart } from "../support/self-hosted-config";
import { type CfnTemplate, TEST_ACCOUNT, TEST_REGION } from "./synth";

/**
 * The self-hosted Airbyte stack (issue 11), synthesized offline in its own App as the tool-stack
 * deployer ships it, and checked as a user who must trust it would: reachable only from the
 * allowed networks, no way onto the host but Session Manager, encrypted storage, the API
 * credentials written to exactly the two parameters, and a boot script that passes shellcheck.
 */

const SHELLCHECK = "/usr/bin/shellcheck";

/** The provisioning section and Airbyte's URL origin of a self-hosted kickstart, parsed as `sst deploy` would. */
function selfHosted(change: (config: Loose) => void = () => {}): readonly [AirbyteHosting, string] {
  const { hosting, airbyteUrl } = airbyteToolStackProps(parseConfig(selfHostedKickstart(change)), "test");
  return [hosting, airbyteUrl];
}

/** The self-hosted kickstart: HTTPS with its certificate, its Route 53 zone, a new VPC with one NAT gateway. */
const KICKSTART = selfHosted();
/** No certificate and no zone (plain HTTP, flagged), two NAT gateways, 2 vCPU in low-resource mode. */
const HTTP_ONLY = selfHosted((c) => {
  delete c.provisioning.certificateArn;
  delete c.provisioning.hostedZone;
  c.tools.airbyte.baseUrl = "http://airbyte.rain-shield.example/api/public/v1";
  c.tools.grouparoo.baseUrl = "http://grouparoo.rain-shield.example";
  c.provisioning.network = { vpc: "new", natGateways: 2 };
  c.provisioning.airbyteHost = { instanceType: "m7i.large", lowResourceMode: true };
});
/** The kickstart opened to the internet, as only allowPublicInternet permits. */
const OPEN_TO_THE_INTERNET = selfHosted((c) => {
  c.provisioning.allowedCidrs = ["0.0.0.0/0"];
  c.provisioning.allowPublicInternet = true;
});

interface Synthesized {
  readonly template: Template;
  readonly json: CfnTemplate & {
    readonly Parameters?: Record<string, { Type: string }>;
    readonly Rules?: unknown;
  };
  readonly stack: AirbyteToolStack;
}

function synthesizeAirbyte([hosting, airbyteUrl]: readonly [
  AirbyteHosting,
  string,
] = KICKSTART): Synthesized {
  const app = new App();
  const stack = new AirbyteToolStack(app, "Airbyte", {
    stackName: "tapestry-test-airbyte",
    stage: "test",
    env: { account: TEST_ACCOUNT, region: TEST_REGION },
    hosting,
    airbyteUrl,
  });
  const template = Template.fromStack(stack);
  return { template, json: template.toJSON() as Synthesized["json"], stack };
}

function resourcesOfType(json: CfnTemplate, type: string) {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

interface IngressRule {
  readonly CidrIp?: unknown;
  readonly FromPort?: number;
  readonly ToPort?: number;
  readonly IpProtocol?: string;
}

/** Every ingress rule of the template: inline in security groups, and standalone SecurityGroupIngress resources. */
function ingressRules(json: CfnTemplate): IngressRule[] {
  const rules: IngressRule[] = [];
  for (const [, resource] of resourcesOfType(json, "AWS::EC2::SecurityGroup")) {
    rules.push(...((resource.Properties?.SecurityGroupIngress as IngressRule[] | undefined) ?? []));
  }
  for (const [, resource] of resourcesOfType(json, "AWS::EC2::SecurityGroupIngress")) {
    rules.push(resource.Properties as IngressRule);
  }
  return rules;
}

function coversPort(rule: IngressRule, port: number): boolean {
  if (rule.IpProtocol === "-1") return true;
  return (rule.FromPort ?? -1) <= port && port <= (rule.ToPort ?? -1);
}

/** Sample values for the stack's Refs, so the user data can be read as the instance gets it. */
const SAMPLE_REFS: Record<string, string> = {
  "AWS::Region": "eu-central-1",
  AirbyteClientIdParameter: "/tapestry/test/secrets/airbyte-client-id",
  AirbyteClientSecretParameter: "/tapestry/test/secrets/airbyte-client-secret",
};

function renderValue(value: unknown, json: CfnTemplate): string {
  if (typeof value === "string") return value;
  const node = value as Record<string, unknown>;
  if (Array.isArray(node["Fn::Join"])) {
    const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
    return parts.map((part) => renderValue(part, json)).join(separator);
  }
  if (typeof node.Ref === "string") {
    const sample = SAMPLE_REFS[node.Ref];
    if (sample) return sample;
    const resource = json.Resources[node.Ref];
    if (resource?.Type === "AWS::S3::Bucket") return "tapestry-test-airbyte-storage-1a2b3c";
    if (resource?.Type === "AWS::Logs::LogGroup") return "tapestry-test-airbyte-HostLog-1a2b3c";
  }
  throw new Error(`the user data holds a value the test cannot render: ${JSON.stringify(value)}`);
}

/** The instance's user data as EC2 receives it (MIME: a cloud-config part and the boot script). */
function renderedUserData(json: CfnTemplate): string {
  const [, host] = resourcesOfType(json, "AWS::EC2::Instance")[0] ?? [];
  const userData = host?.Properties?.UserData as { "Fn::Base64": unknown } | undefined;
  if (!userData) throw new Error("the host has no user data");
  return renderValue(userData["Fn::Base64"], json);
}

/** The boot script exactly as the instance receives it (the shell part of the MIME user data). */
function renderedBootScript(json: CfnTemplate): string {
  const part = renderedUserData(json)
    .split(/^--\+AWS\+CDK\+User\+Data\+Separator==/m)
    .find((p) => p.includes("Content-Type: text/x-shellscript"));
  if (!part) throw new Error("the user data has no shell script part");
  return `${part.split("\n\n").slice(1).join("\n\n").trimEnd()}\n`;
}

function shellcheck(script: string): { status: number | null; output: string } {
  if (!existsSync(SHELLCHECK)) {
    throw new Error(
      `${SHELLCHECK} is missing: install Debian's shellcheck package (apt-get install shellcheck; .ci/run does it on CI)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "tapestry-airbyte-user-data-"));
  try {
    const file = join(dir, "user-data.sh");
    writeFileSync(file, script);
    const result = spawnSync(SHELLCHECK, ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the self-hosted Airbyte stack: network exposure", () => {
  it("admits no traffic from 0.0.0.0/0 by default: the ALB takes only the allowed CIDRs and the control plane's egress", () => {
    const egressRule = (i: number) =>
      JSON.stringify({ "Fn::Select": [i, { Ref: "ControlPlaneEgressCidrs" }] });
    for (const [fixture, ports, egress] of [
      [KICKSTART, [443, 80], [egressRule(0), egressRule(0)]], // one NAT gateway: one /32
      [HTTP_ONLY, [80], [egressRule(0), egressRule(1)]], // two NAT gateways: two /32s
    ] as const) {
      const rules = ingressRules(synthesizeAirbyte(fixture).json);
      expect(rules.filter((r) => r.CidrIp === "0.0.0.0/0" || r.CidrIp === "::/0")).toEqual([]);
      const cidrRules = rules.filter((r) => r.CidrIp !== undefined);
      expect(cidrRules.filter((r) => r.CidrIp === "203.0.113.0/24").map((r) => r.FromPort)).toEqual(ports);
      // one rule per NAT gateway's /32 and port, selected from the ControlPlaneEgressCidrs parameter
      const fromEgress = cidrRules
        .filter((r) => typeof r.CidrIp === "object")
        .map((r) => JSON.stringify(r.CidrIp));
      expect(fromEgress.sort()).toEqual([...egress].sort());
    }
  });

  it("opens the load balancer to 0.0.0.0/0 only when allowPublicInternet says so", () => {
    const { json } = synthesizeAirbyte(OPEN_TO_THE_INTERNET);
    const open = ingressRules(json).filter((r) => r.CidrIp === "0.0.0.0/0");
    expect(open.map((r) => r.FromPort).sort()).toEqual([443, 80]);
  });

  it("has nothing on port 22 anywhere, and the host takes 8000 from its load balancer's group only", () => {
    const { json } = synthesizeAirbyte();
    expect(ingressRules(json).filter((r) => coversPort(r, 22))).toEqual([]);
    const hostIngress = resourcesOfType(json, "AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties);
    expect(hostIngress).toEqual([
      expect.objectContaining({
        FromPort: 8000,
        ToPort: 8000,
        SourceSecurityGroupId: {
          "Fn::GetAtt": [expect.stringMatching(/^LoadBalancerSecurityGroup/), "GroupId"],
        },
      }),
    ]);
  });

  it("gives the host no public IP and no key pair, in the first private subnet", () => {
    const { template, json } = synthesizeAirbyte();
    const [, host] = resourcesOfType(json, "AWS::EC2::Instance")[0] ?? [];
    expect(host?.Properties?.KeyName).toBeUndefined();
    template.hasResourceProperties("AWS::EC2::Instance", {
      NetworkInterfaces: [
        {
          DeviceIndex: "0",
          AssociatePublicIpAddress: false,
          SubnetId: { "Fn::Select": [0, { Ref: "PrivateSubnetIds" }] },
        },
      ],
    });
    expect(resourcesOfType(json, "AWS::EC2::KeyPair")).toEqual([]);
  });

  it("serves HTTPS with the given certificate (TLS 1.2+), redirects HTTP to it, and says HttpOnly false", () => {
    const { template, json } = synthesizeAirbyte();
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 443,
      Protocol: "HTTPS",
      Certificates: [{ CertificateArn: KICKSTART[0].certificateArn }],
      SslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      DefaultActions: [
        { Type: "redirect", RedirectConfig: { Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301" } },
      ],
    });
    expect(json.Outputs?.HttpOnly?.Value).toBe("false");
    expect(json.Outputs?.Url?.Value).toBe("https://airbyte.rain-shield.example");
  });

  it("without a certificate serves plain HTTP only and flags it: HttpOnly true", () => {
    const { json } = synthesizeAirbyte(HTTP_ONLY);
    const listeners = resourcesOfType(json, "AWS::ElasticLoadBalancingV2::Listener").map(
      ([, r]) => r.Properties,
    );
    expect(listeners.map((l) => [l?.Port, l?.Protocol])).toEqual([[80, "HTTP"]]);
    expect(json.Outputs?.HttpOnly?.Value).toBe("true");
  });

  it("forwards only the URL's host to Airbyte, health-checks Airbyte's own health route, drops invalid headers and logs access", () => {
    const { template } = synthesizeAirbyte();
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::ListenerRule", {
      Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["airbyte.rain-shield.example"] } }],
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Port: 8000,
      HealthCheckPath: AIRBYTE_HEALTH_PATH,
      Matcher: { HttpCode: "200" },
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internet-facing",
      LoadBalancerAttributes: Match.arrayWith([
        { Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" },
      ]),
    });
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      LoadBalancerAttributes: Match.arrayWith([{ Key: "access_logs.s3.enabled", Value: "true" }]),
    });
  });

  it("with a hosted zone adds an alias A record for the URL's host; without one, none", () => {
    synthesizeAirbyte().template.hasResourceProperties("AWS::Route53::RecordSet", {
      Name: "airbyte.rain-shield.example.",
      Type: "A",
      HostedZoneId: "Z0123456789ABCDEFGHIJ",
    });
    expect(resourcesOfType(synthesizeAirbyte(HTTP_ONLY).json, "AWS::Route53::RecordSet")).toEqual([]);
  });

  it("takes its props from the config: the provisioning section and the origin of tools.airbyte.baseUrl", () => {
    const [hosting, url] = KICKSTART;
    expect(url).toBe("https://airbyte.rain-shield.example"); // baseUrl ends in /api/public/v1
    expect(hosting.allowedCidrs).toEqual(["203.0.113.0/24"]);
    const external = parseConfig(
      selfHostedKickstart((c) => {
        c.provisioning.hosting = { airbyte: "external", grouparoo: "self-hosted" };
        c.tools.airbyte.baseUrl = "https://api.airbyte.com/v1";
      }),
    );
    expect(() => airbyteToolStackProps(external, "test")).toThrow(/provisioning\.hosting\.airbyte/);
  });

  it("refuses an IPv6 allowed range, naming the field: the load balancer is IPv4-only", () => {
    const withIpv6 = selfHosted((c) => {
      c.provisioning.allowedCidrs = ["203.0.113.0/24", "2001:db8::/48"];
    });
    expect(() => synthesizeAirbyte(withIpv6)).toThrow(
      /provisioning\.allowedCidrs\[1\] is 2001:db8::\/48.*IPv4-only/,
    );
  });

  it("refuses a URL whose scheme disagrees with the certificate, naming both fields", () => {
    expect(() => synthesizeAirbyte([HTTP_ONLY[0], "https://airbyte.rain-shield.example"])).toThrow(
      /tools\.airbyte\.baseUrl .*provisioning\.certificateArn/,
    );
    expect(() => synthesizeAirbyte([KICKSTART[0], "http://airbyte.rain-shield.example"])).toThrow(
      /tools\.airbyte\.baseUrl .*provisioning\.certificateArn/,
    );
  });
});

describe("the self-hosted Airbyte stack: the host", () => {
  it("requires IMDSv2 with hop limit 3 through its launch template", () => {
    const { template, json } = synthesizeAirbyte();
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: { MetadataOptions: { HttpTokens: "required", HttpPutResponseHopLimit: 3 } },
    });
    const [templateId] = resourcesOfType(json, "AWS::EC2::LaunchTemplate").map(([id]) => id);
    template.hasResourceProperties("AWS::EC2::Instance", {
      LaunchTemplate: { LaunchTemplateId: { Ref: templateId } },
    });
  });

  it("takes its AMI from the public Amazon Linux 2023 SSM parameter, never an AMI id", () => {
    const { template } = synthesizeAirbyte();
    template.hasResourceProperties("AWS::EC2::Instance", { ImageId: `resolve:ssm:${AL2023_AMI_PARAMETER}` });
    expect(JSON.stringify(template.toJSON())).not.toMatch(/ami-[0-9a-f]{8,}/);
  });

  it("has an encrypted gp3 root volume of the configured size, detailed monitoring and the instance type asked", () => {
    const { template } = synthesizeAirbyte();
    template.hasResourceProperties("AWS::EC2::Instance", {
      InstanceType: "m7i.xlarge",
      Monitoring: true,
      BlockDeviceMappings: [
        { DeviceName: "/dev/xvda", Ebs: { VolumeSize: 100, VolumeType: "gp3", Encrypted: true } },
      ],
    });
  });

  it("lets the host write exactly the two credential parameters and its own bucket, and nothing else in SSM but Session Manager's policy", () => {
    const { json } = synthesizeAirbyte();
    const statements = resourcesOfType(json, "AWS::IAM::Policy").flatMap(([, r]) => {
      const document = r.Properties?.PolicyDocument as {
        Statement: { Action: unknown; Resource: unknown }[];
      };
      return document.Statement;
    });
    const ssm = statements.filter((s) => [s.Action].flat().some((a) => String(a).startsWith("ssm:")));
    expect(ssm).toHaveLength(1);
    expect(ssm[0]?.Action).toBe("ssm:PutParameter");
    const resources = [ssm[0]?.Resource].flat().map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(2);
    expect(resources[0]).toContain('{"Ref":"AirbyteClientIdParameter"}');
    expect(resources[1]).toContain('{"Ref":"AirbyteClientSecretParameter"}');
    // S3: only its own storage bucket (not the access-log bucket, nothing else)
    const s3 = statements.filter((s) => [s.Action].flat().some((a) => String(a).startsWith("s3:")));
    expect(s3.length).toBeGreaterThan(0);
    for (const statement of s3) {
      for (const resource of [statement.Resource].flat()) {
        expect(JSON.stringify(resource)).toMatch(/"Fn::GetAtt":\["Storage[0-9A-F]{8}","Arn"\]/);
      }
    }
    const [, role] = resourcesOfType(json, "AWS::IAM::Role")[0] ?? [];
    expect(JSON.stringify(role?.Properties?.ManagedPolicyArns)).toContain("AmazonSSMManagedInstanceCore");
    expect(JSON.stringify(role?.Properties?.ManagedPolicyArns)).not.toMatch(
      /AmazonSSMFullAccess|AdministratorAccess/,
    );
  });

  it("keeps Airbyte's logs and state in an encrypted, private, TLS-only, versioned bucket with a lifecycle, kept on delete", () => {
    const { json } = synthesizeAirbyte();
    const buckets = resourcesOfType(json, "AWS::S3::Bucket");
    expect(buckets).toHaveLength(2); // storage + the access logs
    for (const [id, bucket] of buckets) {
      expect(bucket.DeletionPolicy, id).toBe("Retain");
      expect(bucket.Properties?.BucketEncryption, id).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      });
      expect(bucket.Properties?.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties?.VersioningConfiguration, id).toEqual({ Status: "Enabled" });
      const lifecycle = bucket.Properties?.LifecycleConfiguration as { Rules: unknown[] } | undefined;
      expect(lifecycle?.Rules.length, id).toBeGreaterThan(0);
      const policy = resourcesOfType(json, "AWS::S3::BucketPolicy").find(
        ([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: id }),
      );
      expect(JSON.stringify(policy?.[1].Properties?.PolicyDocument), id).toContain(
        '"Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny"',
      );
    }
    expect(json.Outputs?.BucketName?.Value).toEqual({ Ref: expect.stringMatching(/^Storage/) });
  });
});

describe("the self-hosted Airbyte stack: its template deploys alone", () => {
  it("takes exactly the contract's parameters and gives the contract's outputs", () => {
    const { json } = synthesizeAirbyte();
    expect(Object.keys(json.Parameters ?? {}).sort()).toEqual([...AIRBYTE_STACK_PARAMETERS].sort());
    expect(json.Parameters?.VpcId?.Type).toBe("AWS::EC2::VPC::Id");
    expect(json.Parameters?.PublicSubnetIds?.Type).toBe("List<AWS::EC2::Subnet::Id>");
    expect(json.Parameters?.PrivateSubnetIds?.Type).toBe("List<AWS::EC2::Subnet::Id>");
    expect(json.Parameters?.ControlPlaneEgressCidrs?.Type).toBe("CommaDelimitedList");
    expect(Object.keys(json.Outputs ?? {}).sort()).toEqual(
      ["BucketName", "HttpOnly", "InstanceId", "LoadBalancerDnsName", "Url"].sort(),
    );
  });

  it("synthesizes without a CDK warning or error", () => {
    for (const fixture of [KICKSTART, HTTP_ONLY, OPEN_TO_THE_INTERNET]) {
      const annotations = Annotations.fromStack(synthesizeAirbyte(fixture).stack);
      const messages = [
        ...annotations.findWarning("*", Match.anyValue()),
        ...annotations.findError("*", Match.anyValue()),
      ].map((m) => `${m.id}: ${String(m.entry.data)}`);
      expect(messages).toEqual([]);
    }
  });

  it("holds no asset, no Lambda function and no bootstrap rule", () => {
    const { json, stack } = synthesizeAirbyte();
    const text = JSON.stringify(json);
    expect(resourcesOfType(json, "AWS::Lambda::Function")).toEqual([]);
    expect(resourcesOfType(json, "AWS::CloudFormation::CustomResource")).toEqual([]);
    expect(Object.values(json.Resources).filter((r) => r.Type.startsWith("Custom::"))).toEqual([]);
    expect(text).not.toMatch(/AssetParameters|cdk-hnb659fds|BootstrapVersion/);
    expect(json.Rules).toBeUndefined();
    const assets = App.of(stack)?.synth().getStackByName(stack.stackName).assets ?? [];
    expect(assets).toEqual([]);
  });
});

describe("the self-hosted Airbyte stack: cdk-nag AwsSolutions", () => {
  for (const [name, fixture] of [
    ["the self-hosted kickstart: HTTPS, hosted zone", KICKSTART],
    ["plain HTTP, no zone, two NAT gateways", HTTP_ONLY],
    ["open to the internet", OPEN_TO_THE_INTERNET],
  ] as const) {
    it(`has no unsuppressed finding, and a reason for each suppression (${name})`, () => {
      const { stack } = synthesizeAirbyte(fixture);
      const unsuppressed: string[] = [];
      const errors: string[] = [];
      const suppressed: { ruleId: string; reason: string }[] = [];
      const collector: INagLogger = {
        onCompliance: () => undefined,
        onNotApplicable: () => undefined,
        onNonCompliance: (d) => unsuppressed.push(`${d.ruleId} ${d.findingId} ${d.resource.node.path}`),
        onSuppressed: (d) => suppressed.push({ ruleId: d.ruleId, reason: d.suppressionReason }),
        onError: (d) => errors.push(`${d.ruleId} ${d.resource.node.path}: ${d.errorMessage}`),
        onSuppressedError: (d) => suppressed.push({ ruleId: d.ruleId, reason: d.errorSuppressionReason }),
      };
      const pack = new AwsSolutionsChecks({ additionalLoggers: [collector], reports: false });
      for (const construct of stack.node.findAll()) pack.visit(construct);
      expect(unsuppressed).toEqual([]);
      expect(errors).toEqual([]);
      for (const { ruleId, reason } of suppressed) expect(reason.length, ruleId).toBeGreaterThan(40);
    });
  }
});

describe("the self-hosted Airbyte stack: the boot script", () => {
  it("passes shellcheck exactly as the instance receives it", () => {
    for (const fixture of [KICKSTART, HTTP_ONLY]) {
      const script = renderedBootScript(synthesizeAirbyte(fixture).json);
      expect(script.startsWith("#!/bin/bash\n")).toBe(true);
      const { status, output } = shellcheck(script);
      expect(output).toBe("");
      expect(status).toBe(0);
    }
  });

  it("pins abctl and the chart to the configured versions and verifies abctl's sha256", () => {
    const [hosting] = KICKSTART;
    const script = renderedBootScript(synthesizeAirbyte().json);
    expect(script).toContain(`readonly ABCTL_VERSION="${hosting.airbyteHost.abctlVersion}"`);
    expect(script).toContain(`readonly CHART_VERSION="${hosting.airbyteHost.chartVersion}"`);
    expect(script).toContain('--chart-version "$CHART_VERSION"');
    expect(script).toContain('tarball="abctl-$ABCTL_VERSION-linux-amd64.tar.gz"');
    expect(script).toContain("sha256sum --check --strict");
    expect(script).not.toContain("releases/latest");
    expect(script).not.toMatch(/^\s*set\s+-[a-z]*x|xtrace/m); // a trace would print the credentials
  });

  it("has the CloudWatch agent tag CPU, memory and disk with the stack's ToolHost and roll them up by it (the stage's alarms watch that)", () => {
    const script = renderedBootScript(synthesizeAirbyte().json);
    expect(script).toMatch(/readonly TOOL_HOST="tapestry-[a-z0-9-]+-airbyte"/);
    expect(script).toContain('"aggregation_dimensions": [["ToolHost"]]');
    expect(script.match(/"append_dimensions": \{ "ToolHost": "\$TOOL_HOST" \}/g)).toHaveLength(3);
  });

  it("points Airbyte at its URL and its bucket through the instance role, and writes the credentials to the two parameters", () => {
    const script = renderedBootScript(synthesizeAirbyte(HTTP_ONLY).json);
    expect(script).toContain('readonly AIRBYTE_URL="http://airbyte.rain-shield.example"');
    expect(script).toContain('readonly BUCKET="tapestry-test-airbyte-storage-1a2b3c"');
    expect(script).toContain("authenticationType: instanceProfile");
    expect(script).toContain('readonly CLIENT_ID_PARAMETER="/tapestry/test/secrets/airbyte-client-id"');
    expect(script).toContain(
      'readonly CLIENT_SECRET_PARAMETER="/tapestry/test/secrets/airbyte-client-secret"',
    );
    expect(script).toContain('Type: "SecureString", Overwrite: true');
    // plain HTTP: the session cookie must be allowed without TLS; a 2 vCPU host runs low-resource
    expect(script).toContain('readonly INSECURE_COOKIES="true"');
    expect(script).toContain('readonly LOW_RESOURCE_MODE="true"');
    const https = renderedBootScript(synthesizeAirbyte().json);
    expect(https).toContain('readonly AIRBYTE_URL="https://airbyte.rain-shield.example"');
    expect(https).toContain('readonly INSECURE_COOKIES="false"');
    expect(https).toContain('readonly LOW_RESOURCE_MODE="false"');
  });

  it("runs at every boot (cloud-config scripts-user always), so a stop/start with new user data applies it", () => {
    const mime = renderedUserData(synthesizeAirbyte().json);
    expect(mime).toContain("Content-Type: text/cloud-config");
    expect(mime).toContain("  - [scripts-user, always]");
    // EC2 refuses user data over 16 KB (before base64)
    expect(Buffer.byteLength(mime, "utf8")).toBeLessThan(16 * 1024);
  });

  it("installs without --host, so the ingress answers the ALB's health check (whose Host is the target's IP)", () => {
    const script = renderedBootScript(synthesizeAirbyte().json);
    expect(script).toContain("install_args=(local install ");
    expect(script).not.toMatch(/^[^#]*--host\b/m); // outside comments
    expect(script).toContain(`http://localhost:8000${AIRBYTE_HEALTH_PATH}`);
  });
});
