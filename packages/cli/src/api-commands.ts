import { TapestryError } from "@tapestry/core/errors";
import { PIPELINE_NAME } from "@tapestry/core/names";
import { parseRunId } from "@tapestry/core/pipeline";
import { Command, InvalidArgumentError, Option } from "commander";
import { type CliIo, EXIT, withExamples } from "./cli-policy";
import { UsageError } from "./secrets-command";
import {
  cancelAcceptedSchema,
  ENDED_RUN_STATUSES,
  type ListedEvent,
  type RunDetail,
  runDetailSchema,
  runEventsSchema,
  runsPageSchema,
  statusOverviewSchema,
  triggerAcceptedSchema,
} from "./status-api/answers";
import type { StatusApiClient } from "./status-api/client";
import { AwsCredentialsError, StatusApiLookupError, StatusApiRefusedError } from "./status-api/errors";
import type { TargetDependencies, TargetOptions } from "./status-api/target";

/** What tests replace: the transports' fetch, AWS, the process check, and how often a follow polls. */
export interface ApiCommandDependencies extends TargetDependencies {
  /** between two polls of `run --wait` and `logs --follow` (default 1 s) */
  readonly pollIntervalMs?: number;
}

export type Format = typeof import("./status-api/format");

export interface CommonOptions extends TargetOptions {
  readonly json: boolean;
}

export const TARGET_HELP = `
Target: the embedded control plane that \`tapestry local\` (npm start) runs, found through the file
<state-dir>/local.json it writes while it runs (--state-dir, default .tapestry), or named with
--local <url>; or a deployed stage with --stage <stage>: its status API URL is the stack output
StatusApiUrl (or --api-url <url>), and requests are SigV4-signed with your AWS credentials (the AWS
SDK's default chain: AWS_PROFILE, aws sso login, environment).`;

/**
 * `tapestry status | runs | logs | run | cancel`: the status API's answers for people and scripts
 * (`--json` prints the API's own answer, as docs/status-api.openapi.yaml documents it).
 */
export function createApiCommands(
  dependencies: ApiCommandDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command[] {
  const pollMs = dependencies.pollIntervalMs ?? 1_000;

  /**
   * Runs an action against its target, its arguments checked first (a bad one is named before the
   * target is looked for); every TapestryError becomes its message and its exit code.
   */
  const act = async (
    options: CommonOptions,
    work: (api: StatusApiClient, format: Format) => Promise<number>,
    checkArguments: () => void = () => undefined,
  ) => {
    try {
      checkArguments();
      // loaded when a command runs: `--help`, `validate` and the others start without the AWS SDK
      const [{ resolveTarget }, format] = await Promise.all([
        import("./status-api/target"),
        import("./status-api/format"),
      ]);
      setExitCode(await work(await resolveTarget(options, dependencies), format));
    } catch (error) {
      if (!(error instanceof TapestryError)) throw error;
      io.err(error.message);
      setExitCode(exitCodeOf(error));
    }
  };

  const status = targeted(new Command("status"))
    .description("every pipeline: its health, last run and next scheduled run")
    .action((options: CommonOptions) =>
      act(options, async (api, format) => {
        const overview = await api.get("/status", statusOverviewSchema);
        if (options.json) {
          io.out(JSON.stringify(overview, null, 2));
          return EXIT.ok;
        }
        for (const line of format.statusTable(overview, io.color)) io.out(line);
        const deadLetters = overview.controlPlane?.deadLetters ?? 0;
        if (deadLetters > 0) {
          io.err(
            `warning: ${deadLetters} event${deadLetters === 1 ? "" : "s"} could not be recorded (controlPlane.deadLetters): the run records may be missing them`,
          );
        }
        return EXIT.ok;
      }),
    );
  withExamples(
    status,
    ["npx tapestry status", "npx tapestry status --json", "npx tapestry status --stage prod"],
    TARGET_HELP.trim(),
  );

  const runs = targeted(new Command("runs"))
    .description("a pipeline's runs, newest first")
    .argument("<pipeline>", "the pipeline's name, as in the config")
    .addOption(new Option("--limit <n>", "how many runs (1 to 100)").default(20).argParser(parseLimit))
    .option("--cursor <cursor>", "the next page: the cursor the previous page printed")
    .action((pipeline: string, options: CommonOptions & { limit: number; cursor?: string }) =>
      act(
        options,
        async (api, format) => {
          const query = new URLSearchParams({ limit: String(options.limit) });
          if (options.cursor !== undefined) query.set("cursor", options.cursor);
          const page = await api.get(
            `/pipelines/${encodeURIComponent(pipeline)}/runs?${query}`,
            runsPageSchema,
          );
          if (options.json) {
            io.out(JSON.stringify(page, null, 2));
            return EXIT.ok;
          }
          if (page.runs.length === 0) io.out(`${page.pipeline} has no runs yet.`);
          else for (const line of format.runsTable(page.runs, io.color)) io.out(line);
          if (page.nextCursor !== null) {
            io.out(`older runs: npx tapestry runs ${page.pipeline} --cursor ${page.nextCursor}`);
          }
          return EXIT.ok;
        },
        () => checkPipeline(pipeline),
      ),
    );
  withExamples(
    runs,
    [
      "npx tapestry runs rain-shield-audience",
      "npx tapestry runs rain-shield-audience --limit 5 --json",
      "npx tapestry runs rain-shield-audience --stage prod",
    ],
    TARGET_HELP.trim(),
  );

  const logs = targeted(new Command("logs"))
    .description("a run's events, in the order they occurred, as `tapestry local` prints them")
    .argument("<runId>", "the run's id, e.g. rain-shield-audience-m01J...")
    .option("-f, --follow", "keep printing the run's events until it ends", false)
    .action((runId: string, options: CommonOptions & { follow: boolean }) =>
      act(
        options,
        async (api, format) => {
          if (!options.follow) {
            const listed = await api.get(`/runs/${encodeURIComponent(runId)}/events`, runEventsSchema);
            if (options.json) io.out(JSON.stringify(listed, null, 2));
            else for (const event of listed.events) io.out(format.eventLine(event, io.color));
            return EXIT.ok;
          }
          await follow(api, runId, pollMs, {
            print: (event) =>
              io.out(options.json ? JSON.stringify(event) : format.eventLine(event, io.color)),
            waiting: options.json ? undefined : (run, polls) => io.progress(format.waitingLine(run, polls)),
          });
          io.progress(undefined);
          return EXIT.ok;
        },
        () => checkRunId(runId),
      ),
    );
  withExamples(
    logs,
    [
      "npx tapestry logs rain-shield-audience-m01JD3Q6ZC7V8Y1XK2N4P5R6S7T",
      "npx tapestry logs <runId> --follow",
      "npx tapestry logs <runId> --json              # the API's { runId, events }",
      "npx tapestry logs <runId> --follow --json     # one event per line (JSON Lines)",
    ],
    TARGET_HELP.trim(),
  );

  const run = targeted(new Command("run"))
    .description("start a run of a pipeline now (a manual run); --wait to follow it to its end")
    .argument("<pipeline>", "the pipeline's name, as in the config")
    .option("--wait", "print the run's events until it ends; exit 0 if it succeeded, 1 if not", false)
    .option("--note <text>", "a note kept with the request (e.g. why), at most 1000 characters")
    .action((pipeline: string, options: CommonOptions & { wait: boolean; note?: string }) =>
      act(
        options,
        async (api, format) => {
          const accepted = await api.post(
            `/pipelines/${encodeURIComponent(pipeline)}/runs`,
            options.note === undefined ? {} : { note: options.note },
            triggerAcceptedSchema,
          );
          const progress = options.json ? io.err : io.out;
          if (!options.wait) {
            if (options.json) io.out(JSON.stringify(accepted, null, 2));
            else {
              io.out(
                accepted.status === "queued"
                  ? `run ${accepted.runId} of ${accepted.pipeline} queued behind the run that is going (overlap: queue)`
                  : `run ${accepted.runId} of ${accepted.pipeline} started`,
              );
              io.out(`follow it: npx tapestry logs ${accepted.runId} --follow`);
            }
            return EXIT.ok;
          }
          progress(`run ${accepted.runId} of ${accepted.pipeline} ${accepted.status}; waiting for it to end`);
          const ended = await follow(api, accepted.runId, pollMs, {
            print: (event) => progress(format.eventLine(event, io.color)),
            waiting: options.json ? undefined : (run, polls) => io.progress(format.waitingLine(run, polls)),
            justAccepted: true,
          });
          io.progress(undefined);
          if (options.json) io.out(JSON.stringify(ended, null, 2));
          else for (const line of format.runVerdict(ended, io.color)) io.out(line);
          return ended.status === "succeeded" ? EXIT.ok : EXIT.failed;
        },
        () => checkPipeline(pipeline),
      ),
    );
  withExamples(
    run,
    [
      "npx tapestry run rain-shield-audience",
      "npx tapestry run rain-shield-audience --wait     # exit 0 succeeded, 1 failed",
      'npx tapestry run rain-shield-audience --stage prod --note "backfill after the Zoom outage"',
    ],
    `A run is refused (exit 1) while another of the pipeline is going and its overlap policy is "skip".\nCtrl-C stops the waiting, not the run: \`tapestry cancel <runId>\` stops the run.\n${TARGET_HELP.trim()}`,
  );

  const cancel = targeted(new Command("cancel"))
    .description("cancel a queued or running run: its jobs are cancelled in the tools, it ends cancelled")
    .argument("<runId>", "the run's id")
    .option("--note <text>", "a note kept with the request, at most 1000 characters")
    .action((runId: string, options: CommonOptions & { note?: string }) =>
      act(
        options,
        async (api) => {
          const accepted = await api.post(
            `/runs/${encodeURIComponent(runId)}/cancel`,
            options.note === undefined ? {} : { note: options.note },
            cancelAcceptedSchema,
          );
          if (options.json) io.out(JSON.stringify(accepted, null, 2));
          else {
            io.out(`cancelling run ${accepted.runId} of ${accepted.pipeline}: its jobs are being cancelled`);
            io.out(`see it end: npx tapestry logs ${accepted.runId} --follow`);
          }
          return EXIT.ok;
        },
        () => checkRunId(runId),
      ),
    );
  withExamples(
    cancel,
    ["npx tapestry cancel <runId>", 'npx tapestry cancel <runId> --stage prod --note "wrong audience"'],
    `A run that has ended is refused (exit 1).\n${TARGET_HELP.trim()}`,
  );

  return [status, runs, logs, run, cancel];
}

/** The options every API command takes: where to send it, and --json. */
export function targeted(command: Command): Command {
  return command
    .addOption(
      new Option(
        "--local [url]",
        "the embedded control plane (default: the one tapestry local runs for --state-dir)",
      ).conflicts("stage"),
    )
    .option("--stage <stage>", "a deployed stage, e.g. prod (SigV4-signed with your AWS credentials)")
    .option(
      "--api-url <url>",
      "with --stage: the status API's URL (default: the stage's StatusApiUrl output)",
    )
    .option("--region <region>", "with --stage: AWS region (default: AWS_REGION or your AWS profile's)")
    .option("--state-dir <dir>", "the state folder of the tapestry local to ask", ".tapestry")
    .option("--json", "print the status API's answer as JSON (README: 'The tapestry CLI')", false);
}

/** How long a run the API has just accepted may take to appear in the ledger (its execution starting). */
const NOT_RECORDED_YET_MS = 30_000;

/** Follows a run: prints each new event, answers the run once it has ended. */
export async function follow(
  api: StatusApiClient,
  runId: string,
  pollMs: number,
  how: {
    readonly print: (event: ListedEvent) => void;
    /** after each poll of a run that has not ended (the progress line on a terminal) */
    readonly waiting?: (run: RunDetail, polls: number) => void;
    /** the run was accepted a moment ago: it may not be recorded yet */
    readonly justAccepted?: boolean;
  },
): Promise<RunDetail> {
  const seen = new Set<string>();
  const path = encodeURIComponent(runId);
  const recordedBy = Date.now() + (how.justAccepted ? NOT_RECORDED_YET_MS : 0);
  for (let polls = 0; ; polls++) {
    // the run first: once it has ended, the events read after it include its last one
    let run: RunDetail;
    try {
      run = await api.get(`/runs/${path}`, runDetailSchema);
    } catch (error) {
      // a run just accepted is recorded once its execution has started: a moment later
      if (!(error instanceof StatusApiRefusedError && error.status === 404 && Date.now() < recordedBy))
        throw error;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      continue;
    }
    const { events } = await api.get(`/runs/${path}/events`, runEventsSchema);
    for (const event of events) {
      if (seen.has(event.detail.metadata.id)) continue;
      seen.add(event.detail.metadata.id);
      how.print(event);
    }
    if (ENDED_RUN_STATUSES.has(run.status)) return run;
    how.waiting?.(run, polls);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export function exitCodeOf(error: TapestryError): number {
  if (error instanceof UsageError || error instanceof AwsCredentialsError) return EXIT.usage;
  if (error instanceof StatusApiRefusedError || error instanceof StatusApiLookupError) {
    return error.usage ? EXIT.usage : EXIT.failed;
  }
  return EXIT.failed;
}

function checkPipeline(name: string): void {
  if (!PIPELINE_NAME.pattern.test(name)) {
    throw new UsageError(`${JSON.stringify(name)} is not a pipeline name: expected ${PIPELINE_NAME.rule}`);
  }
}

export function checkRunId(runId: string): void {
  if (parseRunId(runId) === undefined) {
    throw new UsageError(
      `${JSON.stringify(runId)} is not a run id: expected "<pipeline>-<yyyymmddThhmmssZ>" (scheduled) or "<pipeline>-m<ULID>" (manual), as tapestry runs prints them`,
    );
  }
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 100) {
    throw new InvalidArgumentError(`expected a whole number from 1 to 100, got "${value}"`);
  }
  return n;
}
