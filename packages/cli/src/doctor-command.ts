import { DEPLOYMENT_STAGE_NAME } from "@tapestry/core/names";
import { Command } from "commander";
import { createColors } from "picocolors";
import { type CliIo, EXIT, withExamples } from "./cli-policy";
import {
  type CheckResult,
  type CheckStatus,
  checkBootstrap,
  checkConfig,
  checkCredentials,
  checkEndpoints,
  checkExposure,
  checkNode,
  checkSecrets,
  checkStacks,
  type DoctorClients,
  selfHostedTools,
} from "./doctor/checks";
import { importConfig } from "./load-config";
import { UsageError } from "./secrets-command";
import { table } from "./table";

/** What tests replace: the AWS clients, fetch, the config's import, the Node version. */
export interface DoctorDependencies extends Partial<DoctorClients> {
  readonly importConfig?: (file: string) => Promise<{ readonly defaultExport: unknown }>;
  readonly nodeVersion?: string;
}

/** The shape `tapestry doctor --json` prints (README). */
export interface DoctorReport {
  readonly stage: string | null;
  /** no check failed */
  readonly ok: boolean;
  readonly counts: Readonly<Record<CheckStatus, number>>;
  readonly checks: readonly CheckResult[];
}

export interface DoctorOptions {
  readonly config: string;
  readonly stage?: string;
  readonly region?: string;
}

/** Runs the checks: the local ones always, the stage's (AWS, secrets, stacks, endpoints) with a stage. */
export async function runDoctor(options: DoctorOptions, deps: DoctorDependencies): Promise<DoctorReport> {
  if (options.stage !== undefined && !DEPLOYMENT_STAGE_NAME.pattern.test(options.stage)) {
    throw new UsageError(
      `${JSON.stringify(options.stage)} is not a stage name: expected ${DEPLOYMENT_STAGE_NAME.rule}`,
    );
  }
  const checks: CheckResult[] = [checkNode(deps.nodeVersion)];
  const { result, config } = await checkConfig(options.config, deps.importConfig ?? importConfig);
  checks.push(result);
  if (config) checks.push(...checkExposure(config));

  if (options.stage !== undefined) {
    const stage = options.stage;
    const clients = await defaultClients(deps);
    const sts = clients.sts(options.region);
    const credentials = await checkCredentials(sts).finally(() => sts.destroy());
    checks.push(credentials.result);
    if (credentials.result.status === "ok" && credentials.region) {
      const region = credentials.region;
      const cloudFormation = clients.cloudFormation(region);
      const ssm = clients.ssm(region);
      try {
        checks.push(
          await orFailed("bootstrap", "SST/CDK bootstrap", () => checkBootstrap(cloudFormation, region)),
        );
        if (config) checks.push(await orFailed("secrets", "secrets", () => checkSecrets(ssm, stage, config)));
        const stacks = await orFailed("stacks", "stacks", () =>
          checkStacks(cloudFormation, stage, config ? selfHostedTools(config) : []),
        );
        checks.push(...(Array.isArray(stacks) ? stacks : [stacks]));
      } finally {
        cloudFormation.destroy();
        ssm.destroy();
      }
    } else {
      for (const [id, title] of [
        ["bootstrap", "SST/CDK bootstrap"],
        ["secrets", "secrets"],
        ["stacks", "stacks"],
      ] as const) {
        checks.push({
          id,
          title,
          status: "warn",
          detail: "not checked: no AWS credentials",
          fix: "fix the AWS credentials first",
        });
      }
    }
    if (config) checks.push(...(await checkEndpoints(config, clients.fetch)));
  }
  const counts = { ok: 0, warn: 0, fail: 0 };
  for (const check of checks) counts[check.status] += 1;
  return { stage: options.stage ?? null, ok: counts.fail === 0, counts, checks };
}

/** A check that AWS refused (access denied, throttled): a failure with AWS's reason, not a crash. */
async function orFailed<T extends CheckResult | CheckResult[]>(
  id: string,
  title: string,
  check: () => Promise<T>,
): Promise<T | CheckResult> {
  try {
    return await check();
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const message = error instanceof Error ? error.message : String(error);
    return {
      id,
      title,
      status: "fail",
      detail: `AWS refused: ${message.split("\n")[0]}`,
      fix: /AccessDenied|not authorized/i.test(`${name} ${message}`)
        ? "your credentials need cloudformation:DescribeStacks and ssm:GetParametersByPath (an admin or the deploy role)"
        : "try again; if it persists, check the AWS Health Dashboard",
    } satisfies CheckResult;
  }
}

async function defaultClients(deps: DoctorDependencies): Promise<DoctorClients> {
  const need = !deps.sts || !deps.ssm || !deps.cloudFormation;
  const [sts, ssm, cfn] = need
    ? await Promise.all([
        import("./doctor/sts"),
        import("@aws-sdk/client-ssm"),
        import("./status-api/cloudformation"),
      ])
    : [undefined, undefined, undefined];
  const withRegion = (region?: string) => (region ? { region } : {});
  return {
    sts: deps.sts ?? ((region) => new (sts as typeof import("./doctor/sts")).STSClient(withRegion(region))),
    ssm:
      deps.ssm ??
      ((region) => new (ssm as typeof import("@aws-sdk/client-ssm")).SSMClient(withRegion(region))),
    cloudFormation:
      deps.cloudFormation ??
      ((region) =>
        new (cfn as typeof import("./status-api/cloudformation")).CloudFormationClient(withRegion(region))),
    fetch: deps.fetch ?? fetch,
  };
}

/** The checks as a table, each problem's fix under it. */
export function doctorLines(report: DoctorReport, color: boolean): string[] {
  const c = createColors(color);
  const mark = { ok: c.green("ok"), warn: c.yellow("warn"), fail: c.red("FAIL") } as const;
  const rows = [
    ["CHECK", "STATUS", "DETAIL"],
    ...report.checks.map((check) => [check.title, mark[check.status], check.detail]),
  ];
  const lines = table(rows);
  const fixes = report.checks.filter((check) => check.status !== "ok" && check.fix);
  if (fixes.length > 0) {
    lines.push("", "To fix:");
    for (const check of fixes) lines.push(`  ${check.title}: ${check.fix}`);
  }
  lines.push(
    "",
    `${report.counts.ok} ok, ${report.counts.warn} warning${report.counts.warn === 1 ? "" : "s"}, ${report.counts.fail} failed${
      report.stage === null
        ? " (local checks only: --stage <stage> checks AWS, the secrets, the stacks and the tools)"
        : ""
    }`,
  );
  return lines;
}

/** `tapestry doctor [--stage <s>] [--json]`. */
export function createDoctorCommand(
  deps: DoctorDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command {
  const command = new Command("doctor")
    .description(
      "check that this machine, the config and a stage can work: Node, the config, AWS credentials, the SST bootstrap, the secrets, the stacks, the tools' endpoints, open CIDRs and HTTP-only listeners",
    )
    .option("--config <file>", "the pipelines and tools", "tapestry.config.ts")
    .option("--stage <stage>", "also check this deployed (or to be deployed) stage on AWS")
    .option("--region <region>", "with --stage: AWS region (default: AWS_REGION or your AWS profile's)")
    .option(
      "--json",
      "print { stage, ok, counts, checks: [{ id, title, status, detail, fix? }] } on stdout",
      false,
    )
    .action(async (options: DoctorOptions & { json: boolean }) => {
      const report = await runDoctor(options, deps);
      if (options.json) io.out(JSON.stringify(report, null, 2));
      else for (const line of doctorLines(report, io.color)) io.out(line);
      setExitCode(report.ok ? EXIT.ok : EXIT.failed);
    });
  return withExamples(
    command,
    [
      "npx tapestry doctor",
      "npx tapestry doctor --stage prod",
      "npx tapestry doctor --stage prod --json | jq '.checks[] | select(.status != \"ok\")'",
    ],
    "Exit 0 when no check failed (warnings allowed), 1 when one did.",
  );
}
