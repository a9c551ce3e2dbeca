import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetParametersByPathCommand, SSMClient } from "@aws-sdk/client-ssm";
import { parseConfig } from "@tapestry/core/config";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { checkExposure, SST_STACKS, toolStackName } from "../../packages/cli/src/doctor/checks";
import { GetCallerIdentityCommand, STSClient } from "../../packages/cli/src/doctor/sts";
import {
  CloudFormationClient,
  DescribeStacksCommand,
} from "../../packages/cli/src/status-api/cloudformation";
import { TAPESTRY_STACKS } from "../../stacks";
import { toolStackName as stacksToolStackName } from "../../stacks/tools/names";
import { kickstartWith, type Loose } from "../support/invalid-configs";
import { selfHostedKickstart } from "../support/self-hosted-config";
import { CLASS_NAME_OR_STACK, tapestry } from "./harness";

/**
 * `tapestry doctor` against mocked AWS (STS, SSM, CloudFormation) and tools on 127.0.0.1, and
 * `tapestry deploy`, which runs a stand-in `sst` only when no check failed.
 */

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-real-key" };
const USER_SECRETS = [
  "AIRBYTE_CLIENT_ID",
  "AIRBYTE_CLIENT_SECRET",
  "DBT_CLOUD_TOKEN",
  "GROUPAROO_API_KEY",
  "ZOOM_CLIENT_SECRET",
  "SALESFORCE_CLIENT_SECRET",
  "SALESFORCE_REFRESH_TOKEN",
  "MAILCHIMP_API_KEY",
  "SNOWFLAKE_ADMIN_PRIVATE_KEY",
];

/** The documented shape of `tapestry doctor --json`. */
const reportSchema = z.strictObject({
  stage: z.string().nullable(),
  ok: z.boolean(),
  counts: z.strictObject({ ok: z.number(), warn: z.number(), fail: z.number() }),
  checks: z.array(
    z.strictObject({
      id: z.string(),
      title: z.string(),
      status: z.enum(["ok", "warn", "fail"]),
      detail: z.string(),
      fix: z.string().optional(),
    }),
  ),
});

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A tool stand-in on loopback that answers every request with `status`. */
async function toolServer(status: number): Promise<string> {
  const server: Server = createServer((_request, response) => {
    response.statusCode = status;
    response.end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port nothing listens on: a server opened and closed. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

interface World {
  readonly stacks?: Record<string, { status: string; outputs?: Record<string, string> }>;
  readonly secrets?: readonly string[];
  readonly identity?: "ok" | "no-credentials" | "expired";
  readonly tools?: Record<string, string>;
  readonly change?: (config: Loose) => void;
}

const BOOTSTRAPPED = {
  CDKToolkit: {
    status: "UPDATE_COMPLETE",
    outputs: { BootstrapVersion: "21", BucketName: "cdk-hnb659fds-assets" },
  },
  SSTBootstrap: { status: "CREATE_COMPLETE", outputs: { Version: "7.4", BucketName: "sstbootstrap-bucket" } },
};

/** Doctor's dependencies on a mocked AWS account and the given tools. */
async function world(w: World = {}) {
  const sts = new STSClient({ region: "eu-west-1", credentials: CREDENTIALS });
  const stsMock = mockClient(sts);
  if ((w.identity ?? "ok") === "ok") {
    stsMock.on(GetCallerIdentityCommand).resolves({
      Account: "123456789012",
      Arn: "arn:aws:iam::123456789012:user/dana",
      UserId: "AIDA",
    });
  } else {
    const error = Object.assign(
      new Error(
        w.identity === "expired"
          ? "The security token included in the request is expired"
          : "Could not load credentials from any providers",
      ),
      { name: w.identity === "expired" ? "ExpiredTokenException" : "CredentialsProviderError" },
    );
    stsMock.on(GetCallerIdentityCommand).rejects(error);
  }
  const ssm = new SSMClient({ region: "eu-west-1", credentials: CREDENTIALS });
  const ssmMock = mockClient(ssm);
  ssmMock.on(GetParametersByPathCommand).resolves({
    Parameters: (w.secrets ?? USER_SECRETS).map((name) => ({
      Name: `/tapestry/prod/${name}`,
      Type: "SecureString",
      Version: 1,
      LastModifiedDate: new Date("2026-12-01T00:00:00Z"),
    })),
  });
  const cfn = new CloudFormationClient({ region: "eu-west-1", credentials: CREDENTIALS });
  const cfnMock = mockClient(cfn);
  const stacks: Record<string, { status: string; outputs?: Record<string, string> }> = {
    ...BOOTSTRAPPED,
    ...w.stacks,
  };
  cfnMock.on(DescribeStacksCommand).callsFake(async (input: { StackName?: string }) => {
    const stack = stacks[input.StackName ?? ""];
    if (!stack) {
      throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), {
        name: "ValidationError",
      });
    }
    return {
      Stacks: [
        {
          StackName: input.StackName,
          StackStatus: stack.status,
          CreationTime: new Date(),
          Outputs: Object.entries(stack.outputs ?? {}).map(([OutputKey, OutputValue]) => ({
            OutputKey,
            OutputValue,
          })),
        },
      ],
    };
  });
  const up = await toolServer(200);
  const tools = { airbyte: up, "dbt-cloud": up, grouparoo: up, ...w.tools };
  const config = kickstartWith((c) => {
    for (const [tool, url] of Object.entries(tools)) c.tools[tool].baseUrl = url;
    w.change?.(c);
  });
  return {
    deps: {
      sts: () => sts,
      ssm: () => ssm,
      cloudFormation: () => cfn,
      importConfig: async () => ({ defaultExport: config }),
      nodeVersion: "24.21.0",
    },
    stsMock,
    ssmMock,
    cfnMock,
  };
}

async function doctor(deps: Awaited<ReturnType<typeof world>>["deps"], ...argv: string[]) {
  const result = await tapestry(["doctor", "--stage", "prod", "--json", ...argv], { doctor: deps });
  const report = reportSchema.parse(JSON.parse(result.stdout));
  const check = (id: string) => report.checks.find((c) => c.id === id);
  return { result, report, check };
}

describe("tapestry doctor --stage", () => {
  it("all well: exit 0; every check ok; the JSON is the documented shape", async () => {
    const { deps, stsMock } = await world();
    const { result, report, check } = await doctor(deps);
    expect(result.code, result.stderr).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.stage).toBe("prod");
    expect(report.counts).toEqual({ ok: report.checks.length, warn: 0, fail: 0 });
    expect(report.checks.map((c) => c.id)).toEqual([
      "node",
      "config",
      "aws-credentials",
      "bootstrap",
      "secrets",
      ...SST_STACKS.filter((s) => s !== "ToolNetwork").map((s) => `stack:prod-tapestry-${s}`), // no tool self-hosted: no network
      "endpoint:airbyte",
      "endpoint:dbt-cloud",
      "endpoint:grouparoo",
    ]);
    expect(check("aws-credentials")?.detail).toBe(
      "account 123456789012 as arn:aws:iam::123456789012:user/dana in eu-west-1",
    );
    expect(check("stack:prod-tapestry-Events")?.detail).toBe("not deployed yet (deploy creates it)");
    expect(stsMock.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);

    const human = await tapestry(["doctor", "--stage", "prod"], { doctor: deps });
    expect(human.code).toBe(0);
    expect(human.out[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
    expect(human.stdout).toMatch(/^AWS credentials\s+ok\s+account 123456789012/m);
  });

  it.each([
    ["no-credentials", /aws configure \(access keys\), export AWS_PROFILE=<profile>, or aws sso login/],
    ["expired", /aws sso login --profile <profile>/],
  ] as const)("credentials %s: the fix, exit 1, and AWS not asked further", async (identity, fix) => {
    const { deps, cfnMock, ssmMock } = await world({ identity });
    const { result, report, check } = await doctor(deps);
    expect(result.code).toBe(1);
    expect(report.ok).toBe(false);
    expect(check("aws-credentials")).toMatchObject({ status: "fail", fix: expect.stringMatching(fix) });
    expect(check("secrets")).toMatchObject({ status: "warn", detail: "not checked: no AWS credentials" });
    expect(cfnMock.calls()).toHaveLength(0);
    expect(ssmMock.calls()).toHaveLength(0);
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });

  it("a secret not set: fail naming it and the command that sets it", async () => {
    const { deps } = await world({ secrets: USER_SECRETS.filter((s) => s !== "MAILCHIMP_API_KEY") });
    const { result, check } = await doctor(deps);
    expect(result.code).toBe(1);
    expect(check("secrets")).toEqual({
      id: "secrets",
      title: "secrets",
      status: "fail",
      detail: "1 of 9 not set for stage prod: MAILCHIMP_API_KEY",
      fix: "npx tapestry secrets set MAILCHIMP_API_KEY --stage prod",
    });
  });

  it("a stack whose first deploy failed, one being updated, a missing bootstrap", async () => {
    const { deps } = await world({
      stacks: {
        "prod-tapestry-Ledger": { status: "ROLLBACK_COMPLETE" },
        "prod-tapestry-Pipelines": { status: "UPDATE_IN_PROGRESS" },
        "prod-tapestry-Events": { status: "UPDATE_COMPLETE" },
        SSTBootstrap: { status: "DELETE_COMPLETE" },
      },
    });
    const { result, check } = await doctor(deps);
    expect(result.code).toBe(1);
    expect(check("stack:prod-tapestry-Ledger")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("aws cloudformation delete-stack --stack-name prod-tapestry-Ledger"),
    });
    expect(check("stack:prod-tapestry-Pipelines")?.status).toBe("warn");
    expect(check("stack:prod-tapestry-Events")?.status).toBe("ok");
    expect(check("bootstrap")).toMatchObject({
      status: "fail",
      detail: "SSTBootstrap in eu-west-1 is DELETE_COMPLETE",
    });
  });

  it("no bootstrap yet: a warning (sst deploy bootstraps), not a failure", async () => {
    const { deps, cfnMock } = await world();
    cfnMock.reset();
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error("Stack with id X does not exist"), { name: "ValidationError" }));
    const { result, check } = await doctor(deps);
    expect(result.code).toBe(0);
    expect(check("bootstrap")).toMatchObject({
      status: "warn",
      detail:
        "CDKToolkit and SSTBootstrap not in eu-west-1: sst deploy bootstraps the account on its first deploy",
    });
  });

  it("a tool that does not answer: fail; one answering 401 is reachable", async () => {
    const { deps } = await world({
      tools: { grouparoo: await closedPort(), "dbt-cloud": await toolServer(401) },
    });
    const { result, check } = await doctor(deps);
    expect(result.code).toBe(1);
    expect(check("endpoint:grouparoo")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(check("endpoint:dbt-cloud")).toMatchObject({
      status: "ok",
      detail: expect.stringMatching(/answered 401$/),
    });
  });

  it("AWS refusing a check (access denied): that check fails with the permission to ask for", async () => {
    const { deps, ssmMock } = await world();
    ssmMock.reset();
    ssmMock.on(GetParametersByPathCommand).rejects(
      Object.assign(new Error("User: dana is not authorized to perform: ssm:GetParametersByPath"), {
        name: "AccessDeniedException",
      }),
    );
    const { result, check } = await doctor(deps);
    expect(result.code).toBe(1);
    expect(check("secrets")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("ssm:GetParametersByPath"),
    });
  });
});

describe("tapestry doctor without --stage: the local checks", () => {
  it("a Node older than the project's: fail; an invalid config: fail naming a problem; AWS never asked", async () => {
    const { deps, stsMock } = await world({
      change: (c) => {
        c.pipelines[0].schedule.timezone = "Nowhere/Land";
      },
    });
    const result = await tapestry(["doctor", "--json"], { doctor: { ...deps, nodeVersion: "20.11.0" } });
    expect(result.code).toBe(1);
    const report = reportSchema.parse(JSON.parse(result.stdout));
    expect(report.stage).toBeNull();
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ["node", "fail"],
      ["config", "fail"],
    ]);
    expect(report.checks[1]?.detail).toMatch(/has 1 problem, e\.g\. pipelines\[0\]\.schedule\.timezone: /);
    expect(stsMock.calls()).toHaveLength(0);
  });

  it("flags open CIDRs and HTTP-only listeners of self-hosted tools, and tools over plain HTTP", () => {
    const open = parseConfig(
      selfHostedKickstart((c) => {
        c.tools.airbyte.baseUrl = "http://airbyte.rain-shield.example/api/public/v1";
        c.tools.grouparoo.baseUrl = "http://grouparoo.rain-shield.example";
        c.provisioning.allowedCidrs = ["0.0.0.0/0"];
        c.provisioning.allowPublicInternet = true;
        delete c.provisioning.certificateArn;
      }),
    );
    const checks = checkExposure(open);
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ["open-cidrs", "warn"],
      ["http-only", "warn"],
      ["http-tools", "warn"],
    ]);
    expect(checks[0]?.detail).toBe(
      "provisioning.allowedCidrs lets anyone on the internet reach airbyte and grouparoo (0.0.0.0/0)",
    );
    expect(checks[1]?.fix).toContain("provisioning.certificateArn");
    // the kickstart's own self-hosting: a CIDR of its own, HTTPS
    expect(checkExposure(parseConfig(selfHostedKickstart())).map((c) => [c.id, c.status])).toEqual([
      ["open-cidrs", "ok"],
      ["http-only", "ok"],
    ]);
  });

  it("checks the self-hosted tools' stacks by the names the tool stacks take", async () => {
    expect(toolStackName("prod", "airbyte")).toBe(stacksToolStackName("prod", "airbyte"));
    const { deps } = await world({
      stacks: { "tapestry-prod-airbyte": { status: "UPDATE_ROLLBACK_FAILED" } },
      change: (c) => {
        c.tools.airbyte.baseUrl = c.tools.airbyte.baseUrl.replace("http://127.0.0.1", "http://localhost");
        c.tools.airbyte.auth = {
          kind: "client-credentials",
          clientIdSecret: "AIRBYTE_CLIENT_ID",
          clientSecretSecret: "AIRBYTE_CLIENT_SECRET",
        };
        c.provisioning = {
          hosting: { airbyte: "self-hosted", grouparoo: "external" },
          allowedCidrs: ["203.0.113.0/24"],
        };
      },
    });
    const { check } = await doctor(deps);
    expect(check("stack:tapestry-prod-airbyte")?.status).toBe("fail");
    expect(check("stack:tapestry-prod-grouparoo")).toBeUndefined();
    // a self-hosted tool's network is one of the stage's stacks
    expect(check("stack:prod-tapestry-ToolNetwork")).toBeDefined();
  });

  it("knows every stack the SST app deploys", () => {
    expect([...SST_STACKS]).toEqual(TAPESTRY_STACKS.map((stack) => stack.name));
  });
});

describe("tapestry deploy", () => {
  let dir: string;
  let sst: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tapestry-deploy-"));
    // a stand-in for sst: records its arguments and the region, exits 7
    sst = join(dir, "sst");
    writeFileSync(sst, `#!/bin/sh\necho "$@ AWS_REGION=$AWS_REGION" > "${join(dir, "ran")}"\nexit 7\n`);
    chmodSync(sst, 0o755);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a failed check: exit 1 listing it, sst not run", async () => {
    const { deps } = await world({ secrets: [] });
    const result = await tapestry(["deploy", "--stage", "prod", "--yes"], { doctor: deps, deploy: { sst } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Not deploying stage prod: 1 check failed \(secrets\); nothing was run$/m);
    expect(result.stderr).toContain("npx tapestry secrets set AIRBYTE_CLIENT_ID --stage prod");
    expect(existsSync(join(dir, "ran"))).toBe(false);
  });

  it("checks pass: runs sst deploy --stage <s> and answers its exit code", async () => {
    const { deps } = await world();
    const result = await tapestry(["deploy", "--stage", "prod", "--yes", "--region", "eu-west-1"], {
      doctor: deps,
      deploy: { sst, environment: { PATH: process.env.PATH ?? "" } },
    });
    expect(result.code, result.stderr).toBe(7);
    expect(readFileSync(join(dir, "ran"), "utf8").trim()).toBe("deploy --stage prod AWS_REGION=eu-west-1");
    rmSync(join(dir, "ran"));
  });

  it("without --yes and no terminal: exit 2, sst not run; --stage is required", async () => {
    const { deps } = await world();
    const result = await tapestry(["deploy", "--stage", "prod"], { doctor: deps, deploy: { sst } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pass --yes to deploy without asking/);
    expect(existsSync(join(dir, "ran"))).toBe(false);
    const noStage = await tapestry(["deploy"]);
    expect(noStage.code).toBe(2);
    expect(noStage.stderr).toMatch(/required option '--stage <stage>' not specified/);
  });
});
