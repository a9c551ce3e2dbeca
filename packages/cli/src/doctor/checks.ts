import { readFileSync } from "node:fs";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { ConfigError, TapestryError } from "@tapestry/core/errors";
import * as z from "zod";
import { userSetSecrets } from "../config-secrets";
import type { CloudFormationClient } from "../status-api/cloudformation";
import type { STSClient } from "./sts";

/** What one check found: ok, a warning (works, but look), or a failure (a deploy would not work). */
export type CheckStatus = "ok" | "warn" | "fail";

export interface CheckResult {
  /** stable, for scripts: node, config, open-cidrs, http-only, aws-credentials, bootstrap, secrets, stack:<name>, endpoint:<tool> */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** what to do, when the status is not ok */
  readonly fix?: string;
}

/** The AWS clients and the network the stage's checks use; tests give mocked ones. */
export interface DoctorClients {
  readonly sts: (region?: string) => STSClient;
  readonly ssm: (region?: string) => SSMClient;
  readonly cloudFormation: (region?: string) => CloudFormationClient;
  readonly fetch: typeof fetch;
}

/** SST v2's two bootstrap stacks (node_modules/sst/bootstrap.js: CDK_STACK_NAME, SST_STACK_NAME), and CDK's lowest version it accepts. */
export const CDK_BOOTSTRAP_STACK = "CDKToolkit";
export const SST_BOOTSTRAP_STACK = "SSTBootstrap";
const MIN_CDK_BOOTSTRAP_VERSION = 14;

/** The stacks of a stage: SST names them `<stage>-<app>-<stack>` (stacks/index.ts TAPESTRY_STACKS; a test holds the lists equal). */
export const SST_STACKS = [
  "Events",
  "Ledger",
  "ToolNetwork",
  "Pipelines",
  "Provisioning",
  "StatusApi",
  "Alerts",
] as const;
/** Deployed only when a tool is self-hosted (stacks/index.ts tapestryStacksFor). */
const NETWORK_STACK = "ToolNetwork";
export const sstStackName = (stage: string, stack: string) => `${stage}-tapestry-${stack}`;
/** The self-hosted tools' stacks (issue 11), deployed by provisioning, not by `sst deploy`. */
export const toolStackName = (stage: string, tool: "airbyte" | "grouparoo") => `tapestry-${stage}-${tool}`;

const ENDPOINT_TIMEOUT_MS = 3_000;

const ok = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "ok", detail });
const warn = (id: string, title: string, detail: string, fix: string): CheckResult => ({
  id,
  title,
  status: "warn",
  detail,
  fix,
});
const fail = (id: string, title: string, detail: string, fix: string): CheckResult => ({
  id,
  title,
  status: "fail",
  detail,
  fix,
});

/** Node: the version package.json's engines asks for (the npm scripts put the pinned Node 24 first on the PATH). */
export function checkNode(version: string = process.versions.node): CheckResult {
  const engines = z
    .object({ engines: z.object({ node: z.string() }) })
    .parse(JSON.parse(readFileSync(new URL("../../../../package.json", import.meta.url), "utf8")))
    .engines.node;
  const required = Number(/(\d+)/.exec(engines)?.[1] ?? "0");
  const major = Number(version.split(".")[0]);
  return major >= required
    ? ok("node", "Node.js", `${version} (the project asks for ${engines})`)
    : fail(
        "node",
        "Node.js",
        `${version}, the project asks for ${engines}`,
        "run tapestry through npx or npm run (they put the project's pinned Node 24 first), or install Node 24 (nvm install 24)",
      );
}

/** The config: loads and is valid (the same check as `tapestry validate`). */
export async function checkConfig(
  file: string,
  load: (file: string) => Promise<{ readonly defaultExport: unknown }>,
): Promise<{ result: CheckResult; config?: TapestryConfig; raw?: unknown }> {
  try {
    const raw = (await load(file)).defaultExport;
    const config = parseConfig(raw, file);
    return {
      result: ok("config", "config", `${file} is valid: ${config.pipelines.map((p) => p.name).join(", ")}`),
      config,
      raw,
    };
  } catch (error) {
    if (error instanceof ConfigError) {
      const first = error.issues[0];
      return {
        result: fail(
          "config",
          "config",
          `${file} has ${error.issues.length} problem${error.issues.length === 1 ? "" : "s"}${first ? `, e.g. ${first.path}: ${first.message}` : ""}`,
          `npx tapestry validate --config ${file} lists each at its path`,
        ),
      };
    }
    if (error instanceof TapestryError) {
      return { result: fail("config", "config", error.message, `fix ${file}, then npx tapestry validate`) };
    }
    throw error;
  }
}

/** The self-hosted tools the config's provisioning section declares. */
export function selfHostedTools(config: TapestryConfig): ("airbyte" | "grouparoo")[] {
  const hosting = config.provisioning?.hosting;
  return (["airbyte", "grouparoo"] as const).filter((tool) => hosting?.[tool] === "self-hosted");
}

/** Open CIDRs and HTTP-only listeners of the self-hosted tools' load balancers, and tools reached over plain HTTP. */
export function checkExposure(config: TapestryConfig): CheckResult[] {
  const results: CheckResult[] = [];
  const provisioning = config.provisioning;
  const selfHosted = selfHostedTools(config);
  if (provisioning && selfHosted.length > 0) {
    const open = provisioning.allowedCidrs.filter((cidr) => cidr === "0.0.0.0/0" || cidr === "::/0");
    results.push(
      open.length > 0
        ? warn(
            "open-cidrs",
            "load balancers' ingress",
            `provisioning.allowedCidrs lets anyone on the internet reach ${selfHosted.join(" and ")} (${open.join(", ")})`,
            "list your office or VPN ranges in provisioning.allowedCidrs instead",
          )
        : ok(
            "open-cidrs",
            "load balancers' ingress",
            `only ${provisioning.allowedCidrs.join(", ")} and the control plane`,
          ),
    );
    results.push(
      provisioning.certificateArn
        ? ok("http-only", "load balancers' listeners", "HTTPS (provisioning.certificateArn)")
        : warn(
            "http-only",
            "load balancers' listeners",
            `${selfHosted.join(" and ")} would listen on plain HTTP: credentials and data cross the network unencrypted`,
            "set provisioning.certificateArn to an ACM certificate for the tools' hosts",
          ),
    );
  }
  const plain = Object.entries(config.tools).filter(
    ([, tool]) =>
      tool &&
      new URL(tool.baseUrl).protocol === "http:" &&
      !/^(127\.|localhost$)/.test(new URL(tool.baseUrl).hostname),
  );
  if (plain.length > 0) {
    results.push(
      warn(
        "http-tools",
        "tools' endpoints",
        `reached over plain HTTP: ${plain.map(([name, tool]) => `${name} (${tool?.baseUrl})`).join(", ")}`,
        "serve them over HTTPS and put the https:// URL in tools.<tool>.baseUrl",
      ),
    );
  }
  return results;
}

/** Each configured tool answers at its endpoint (any HTTP answer: reachable) within a short timeout. */
export async function checkEndpoints(
  config: TapestryConfig,
  fetchImpl: typeof fetch,
): Promise<CheckResult[]> {
  const tools = Object.entries(config.tools).flatMap(([tool, settings]) =>
    settings ? [[tool, { baseUrl: settings.baseUrl }] as const] : [],
  );
  return Promise.all(
    tools.map(async ([tool, { baseUrl }]) => {
      // Airbyte's public API has a health route; the others answer their base URL (401 is an answer too)
      const url = `${baseUrl.replace(/\/+$/, "")}${tool === "airbyte" ? "/health" : ""}`;
      try {
        const response = await fetchImpl(url, {
          method: "GET",
          signal: AbortSignal.timeout(ENDPOINT_TIMEOUT_MS),
        });
        await response.body?.cancel();
        return response.status >= 500
          ? warn(
              `endpoint:${tool}`,
              `${tool} endpoint`,
              `${url} answered ${response.status}`,
              `check ${tool}'s own status page or logs`,
            )
          : ok(`endpoint:${tool}`, `${tool} endpoint`, `${url} answered ${response.status}`);
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        const why =
          error instanceof Error && error.name === "TimeoutError"
            ? `no answer within ${ENDPOINT_TIMEOUT_MS / 1000} s`
            : (cause ?? (error instanceof Error ? error.message : String(error)));
        return fail(
          `endpoint:${tool}`,
          `${tool} endpoint`,
          `${url}: ${why}`,
          `check tools.${tool}.baseUrl, the network between here and ${tool}${tool === "airbyte" ? ", and that Airbyte is running" : ""}`,
        );
      }
    }),
  );
}

/** The AWS identity the SDK's default chain finds, through STS GetCallerIdentity. */
export async function checkCredentials(client: STSClient): Promise<{ result: CheckResult; region?: string }> {
  let region: string;
  try {
    region = await client.config.region();
  } catch {
    return {
      result: fail(
        "aws-credentials",
        "AWS credentials",
        "no AWS region",
        "pass --region <region>, set AWS_REGION, or `aws configure` a default region",
      ),
    };
  }
  try {
    const { GetCallerIdentityCommand } = await import("./sts");
    const identity = await client.send(new GetCallerIdentityCommand({}));
    const profile = process.env.AWS_PROFILE ? `, profile ${process.env.AWS_PROFILE}` : "";
    return {
      result: ok(
        "aws-credentials",
        "AWS credentials",
        `account ${identity.Account} as ${identity.Arn} in ${region}${profile}`,
      ),
      region,
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const message = error instanceof Error ? error.message : String(error);
    const expired = /expired|ExpiredToken|token.*(invalid|refresh)/i.test(`${name} ${message}`);
    return {
      result: fail(
        "aws-credentials",
        "AWS credentials",
        `${expired ? "the credentials have expired" : "no usable AWS credentials"} (${firstLine(message)})`,
        expired
          ? "aws sso login --profile <profile> (or refresh your credentials)"
          : "aws configure (access keys), export AWS_PROFILE=<profile>, or aws sso login --profile <profile>",
      ),
      region,
    };
  }
}

type StackState = { status: string; outputs: Record<string, string> } | undefined;

/** A stack's status and outputs; undefined when it does not exist. */
async function describeStack(client: CloudFormationClient, name: string): Promise<StackState> {
  const { DescribeStacksCommand } = await import("../status-api/cloudformation");
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: name }));
    const stack = answer.Stacks?.[0];
    if (!stack) return undefined;
    const outputs = Object.fromEntries(
      (stack.Outputs ?? []).map((o) => [o.OutputKey ?? "", o.OutputValue ?? ""]),
    );
    return { status: stack.StackStatus ?? "UNKNOWN", outputs };
  } catch (error) {
    if (error instanceof Error && /does not exist/.test(error.message)) return undefined;
    throw error;
  }
}

const HEALTHY = new Set([
  "CREATE_COMPLETE",
  "UPDATE_COMPLETE",
  "UPDATE_ROLLBACK_COMPLETE",
  "IMPORT_COMPLETE",
]);

/** SST v2's bootstrap: CDKToolkit (BootstrapVersion >= 14) and SSTBootstrap, which `sst deploy` makes itself when missing. */
export async function checkBootstrap(client: CloudFormationClient, region: string): Promise<CheckResult> {
  const [cdk, sst] = await Promise.all([
    describeStack(client, CDK_BOOTSTRAP_STACK),
    describeStack(client, SST_BOOTSTRAP_STACK),
  ]);
  const title = "SST/CDK bootstrap";
  for (const [name, state] of [
    [CDK_BOOTSTRAP_STACK, cdk],
    [SST_BOOTSTRAP_STACK, sst],
  ] as const) {
    if (state && !HEALTHY.has(state.status) && !state.status.endsWith("_IN_PROGRESS")) {
      return fail(
        "bootstrap",
        title,
        `${name} in ${region} is ${state.status}`,
        `look at its events in the CloudFormation console; delete it and run sst deploy again to bootstrap anew`,
      );
    }
  }
  const missing = [
    [CDK_BOOTSTRAP_STACK, cdk],
    [SST_BOOTSTRAP_STACK, sst],
  ]
    .filter(([, s]) => !s)
    .map(([n]) => n);
  if (missing.length > 0) {
    return warn(
      "bootstrap",
      title,
      `${missing.join(" and ")} not in ${region}: sst deploy bootstraps the account on its first deploy`,
      "make sure your credentials may create CloudFormation stacks, an S3 bucket and IAM roles, or run `npx sst bootstrap` once as an admin",
    );
  }
  const version = Number(cdk?.outputs.BootstrapVersion ?? "0");
  if (version < MIN_CDK_BOOTSTRAP_VERSION) {
    return warn(
      "bootstrap",
      title,
      `${CDK_BOOTSTRAP_STACK} is version ${version}; SST updates it to ${MIN_CDK_BOOTSTRAP_VERSION} or later on deploy`,
      "let sst deploy update it (same permissions as a bootstrap)",
    );
  }
  return ok(
    "bootstrap",
    title,
    `${CDK_BOOTSTRAP_STACK} (version ${version}) and ${SST_BOOTSTRAP_STACK} (${sst?.outputs.Version ?? "?"}) in ${region}`,
  );
}

/** The stage's stacks (SST's and the self-hosted tools'): none failed, none stuck. */
export async function checkStacks(
  client: CloudFormationClient,
  stage: string,
  tools: readonly ("airbyte" | "grouparoo")[],
): Promise<CheckResult[]> {
  const names = [
    ...SST_STACKS.filter((s) => s !== NETWORK_STACK || tools.length > 0).map((s) => sstStackName(stage, s)),
    ...tools.map((t) => toolStackName(stage, t)),
  ];
  return Promise.all(
    names.map(async (name) => {
      const state = await describeStack(client, name);
      const id = `stack:${name}`;
      if (!state) return ok(id, name, "not deployed yet (deploy creates it)");
      if (HEALTHY.has(state.status)) return ok(id, name, state.status);
      if (state.status.endsWith("_IN_PROGRESS")) {
        return warn(
          id,
          name,
          `${state.status}: a deploy or delete is going`,
          "wait for it to end (npx sst deploy waits for it too)",
        );
      }
      return fail(
        id,
        name,
        state.status,
        state.status === "ROLLBACK_COMPLETE"
          ? `its first deploy failed and it cannot be updated: delete it (aws cloudformation delete-stack --stack-name ${name}) and deploy again`
          : `look at its events in the CloudFormation console (the first FAILED one says why), fix it, and deploy again`,
      );
    }),
  );
}

/** Every secret the config references that a user sets is stored for the stage (names only, never values). */
export async function checkSecrets(
  client: SSMClient,
  stage: string,
  config: TapestryConfig,
): Promise<CheckResult> {
  const { SsmSecretStore } = await import("@tapestry/core/adapters/aws");
  const listed = new Set((await new SsmSecretStore({ client, stage }).list()).map((s) => s.name));
  const needed = userSetSecrets(config);
  const missing = needed.filter((s) => !listed.has(s.name));
  return missing.length === 0
    ? ok("secrets", "secrets", `all ${needed.length} set for stage ${stage}`)
    : fail(
        "secrets",
        "secrets",
        `${missing.length} of ${needed.length} not set for stage ${stage}: ${missing.map((s) => s.name).join(", ")}`,
        missing.map((s) => `npx tapestry secrets set ${s.name} --stage ${stage}`).join("; "),
      );
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").slice(0, 200);
}
