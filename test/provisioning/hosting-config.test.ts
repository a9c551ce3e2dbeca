import { parseConfig, selfHostedTools } from "@tapestry/core/config";
import { describe, expect, it } from "vitest";
import { issueAt } from "../support/config-issues";
import { kickstartWith } from "../support/invalid-configs";
import { selfHostedKickstart } from "../support/self-hosted-config";

describe("the provisioning section (self-hosted tools)", () => {
  it("gives every size a default a user would pick, and a new VPC with one NAT gateway", () => {
    const config = parseConfig(selfHostedKickstart());
    expect(selfHostedTools(config)).toEqual(["airbyte", "grouparoo"]);
    expect(config.provisioning).toMatchObject({
      network: { vpc: "new", natGateways: 1 },
      allowPublicInternet: false,
      airbyteHost: { instanceType: "m7i.xlarge", volumeGiB: 100, lowResourceMode: false },
      grouparooService: {
        image: "grouparoo/omnibus:v0.9.0",
        web: { cpu: 512, memoryMiB: 1024 },
        worker: { cpu: 1024, memoryMiB: 2048, count: 1, workers: 2 },
        database: {
          instanceClass: "db.t4g.micro",
          allocatedStorageGiB: 20,
          backupRetentionDays: 7,
          multiAz: false,
        },
        redis: { nodeType: "cache.t4g.micro" },
      },
    });
    expect(config.provisioning?.airbyteHost.abctlVersion).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(config.provisioning?.airbyteHost.chartVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("leaves the kickstart (external tools, no section) as it was", () => {
    const config = parseConfig(kickstartWith(() => {}));
    expect(config.provisioning).toBeUndefined();
    expect(selfHostedTools(config)).toEqual([]);
  });

  it("takes an existing VPC by its ids and the NAT addresses the control plane leaves by", () => {
    const config = parseConfig(
      selfHostedKickstart((c) => {
        c.provisioning.network = {
          vpc: "existing",
          vpcId: "vpc-0123456789abcdef0",
          publicSubnetIds: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
          privateSubnetIds: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
          egressCidrs: ["198.51.100.7/32"],
        };
      }),
    );
    expect(config.provisioning?.network).toMatchObject({ vpc: "existing", egressCidrs: ["198.51.100.7/32"] });
  });

  it("requires allowedCidrs, and refuses the whole internet unless allowPublicInternet says so", () => {
    expect(
      issueAt(
        selfHostedKickstart((c) => delete c.provisioning.allowedCidrs),
        "provisioning.allowedCidrs",
      ),
    ).toMatch(/CIDR/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.allowedCidrs = [])),
        "provisioning.allowedCidrs",
      ),
    ).toMatch(/at least one CIDR block/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.allowedCidrs = ["203.0.113.0/24", "0.0.0.0/0"])),
        "provisioning.allowedCidrs[1]",
      ),
    ).toMatch(/whole internet.*allowPublicInternet: true/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.allowedCidrs = ["::/0"])),
        "provisioning.allowedCidrs[0]",
      ),
    ).toMatch(/whole internet/);
    const open = parseConfig(
      selfHostedKickstart((c) => {
        c.provisioning.allowedCidrs = ["0.0.0.0/0"];
        c.provisioning.allowPublicInternet = true;
      }),
    );
    expect(open.provisioning?.allowedCidrs).toEqual(["0.0.0.0/0"]);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.allowedCidrs = ["10.0.0.300/8"])),
        "provisioning.allowedCidrs[0]",
      ),
    ).toMatch(/IPv4 or IPv6 CIDR block/);
  });

  it("says when nothing is hosted", () => {
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.hosting = {})),
        "provisioning.hosting",
      ),
    ).toMatch(/hosts no tool/);
  });

  it("needs the URL a self-hosted tool is served at, with the scheme its listener serves", () => {
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.tools.airbyte.baseUrl = "https://api.airbyte.com/v1")),
        "tools.airbyte.baseUrl",
      ),
    ).toMatch(/Airbyte Cloud's.*URL you will serve it at/);
    expect(
      issueAt(
        selfHostedKickstart((c) => delete c.provisioning.certificateArn),
        "tools.grouparoo.baseUrl",
      ),
    ).toMatch(/https, but provisioning has no certificateArn/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.tools.grouparoo.baseUrl = "http://grouparoo.rain-shield.example")),
        "tools.grouparoo.baseUrl",
      ),
    ).toMatch(/use https:\/\/grouparoo\.rain-shield\.example/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.tools.grouparoo.baseUrl = "https://grouparoo.elsewhere.example")),
        "tools.grouparoo.baseUrl",
      ),
    ).toMatch(/outside provisioning.hostedZone rain-shield.example/);
    expect(
      issueAt(
        selfHostedKickstart((c) => delete c.tools.grouparoo),
        "tools.grouparoo",
      ),
    ).toMatch(/self-hosted .* not declared/);
  });

  it("needs Airbyte's application credentials for a self-hosted Airbyte", () => {
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.tools.airbyte.auth = { kind: "bearer", tokenSecret: "AIRBYTE_TOKEN" })),
        "tools.airbyte.auth.kind",
      ),
    ).toMatch(/client-credentials/);
  });

  it("sizes the Airbyte host for Airbyte, on x86_64", () => {
    const at = "provisioning.airbyteHost";
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.airbyteHost = { instanceType: "m7g.xlarge" })),
        `${at}.instanceType`,
      ),
    ).toMatch(/x86_64/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.airbyteHost = { instanceType: "t3.medium" })),
        `${at}.instanceType`,
      ),
    ).toMatch(/too few vCPUs/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.airbyteHost = { instanceType: "m7i.large" })),
        `${at}.lowResourceMode`,
      ),
    ).toMatch(/2 vCPUs.*lowResourceMode: true/);
    parseConfig(
      selfHostedKickstart(
        (c) => (c.provisioning.airbyteHost = { instanceType: "m7i.large", lowResourceMode: true }),
      ),
    );
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.airbyteHost = { abctlVersion: "latest" })),
        `${at}.abctlVersion`,
      ),
    ).toMatch(/abctl release tag/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.airbyteHost = { volumeGiB: 20 })),
        `${at}.volumeGiB`,
      ),
    ).toMatch(/from 50/);
  });

  it("pins Grouparoo's image and keeps its tasks to sizes Fargate runs", () => {
    const at = "provisioning.grouparooService";
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.grouparooService = { image: "grouparoo/omnibus:latest" })),
        `${at}.image`,
      ),
    ).toMatch(/not "latest"/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.grouparooService = { image: "grouparoo/omnibus" })),
        `${at}.image`,
      ),
    ).toMatch(/pinned by tag or digest/);
    expect(
      issueAt(
        selfHostedKickstart(
          (c) => (c.provisioning.grouparooService = { web: { cpu: 512, memoryMiB: 8192 } }),
        ),
        `${at}.web.memoryMiB`,
      ),
    ).toMatch(/with cpu 512, Fargate allows memory from 1024 to 4096 MiB/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.grouparooService = { worker: { cpu: 300 } })),
        `${at}.worker.cpu`,
      ),
    ).toMatch(/Fargate CPU units/);
    expect(
      issueAt(
        selfHostedKickstart(
          (c) => (c.provisioning.grouparooService = { database: { backupRetentionDays: 0 } }),
        ),
        `${at}.database.backupRetentionDays`,
      ),
    ).toMatch(/automated backups cannot be off/);
  });

  it("names the field of a malformed network, certificate or zone", () => {
    expect(
      issueAt(
        selfHostedKickstart(
          (c) =>
            (c.provisioning.network = {
              vpc: "existing",
              vpcId: "vpc-0123456789abcdef0",
              publicSubnetIds: ["subnet-0aaaaaaaaaaaaaaa1"],
              privateSubnetIds: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
              egressCidrs: ["198.51.100.7/32"],
            }),
        ),
        "provisioning.network.publicSubnetIds",
      ),
    ).toMatch(/two availability zones/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.network = { vpc: "default" })),
        "provisioning.network.vpc",
      ),
    ).toMatch(/"new".*"existing"/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.certificateArn = "my-cert")),
        "provisioning.certificateArn",
      ),
    ).toMatch(/ACM certificate ARN/);
    expect(
      issueAt(
        selfHostedKickstart((c) => (c.provisioning.hostedZone.id = "zone-1")),
        "provisioning.hostedZone.id",
      ),
    ).toMatch(/hosted zone id/);
  });
});
