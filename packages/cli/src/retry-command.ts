import { TapestryError } from "@tapestry/core/errors";
import { Command } from "commander";
import * as z from "zod";
import {
  type ApiCommandDependencies,
  type CommonOptions,
  checkRunId,
  exitCodeOf,
  follow,
  TARGET_HELP,
  targeted,
} from "./api-commands";
import { type CliIo, EXIT, withExamples } from "./cli-policy";

/** POST /runs/{runId}/retry (202), as docs/status-api.openapi.yaml documents it. */
export const retryAcceptedSchema = z.looseObject({
  runId: z.string(),
  pipeline: z.string(),
  status: z.enum(["accepted", "queued"]),
  retryOf: z.string(),
  fromStage: z.string(),
});
export type RetryAccepted = z.infer<typeof retryAcceptedSchema>;

/**
 * `tapestry retry <runId> [--wait]`: a new run of a run that did not succeed, from the stage it
 * failed at (the status API's POST /runs/{runId}/retry); `--wait` follows it to its end as `run
 * --wait` does (exit 0 succeeded, 1 not).
 */
export function createRetryCommand(
  dependencies: ApiCommandDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command {
  const pollMs = dependencies.pollIntervalMs ?? 1_000;
  const retry = targeted(new Command("retry"))
    .description(
      "run a failed, cancelled or timed-out run again from the stage it stopped at: a new run, linked to the first",
    )
    .argument("<runId>", "the run to retry, e.g. rain-shield-audience-m01J...")
    .option("--wait", "print the new run's events until it ends; exit 0 if it succeeded, 1 if not", false)
    .option("--note <text>", "a note kept with the request (e.g. why), at most 1000 characters")
    .action(async (runId: string, options: CommonOptions & { wait: boolean; note?: string }) => {
      try {
        checkRunId(runId);
        const [{ resolveTarget }, format] = await Promise.all([
          import("./status-api/target"),
          import("./status-api/format"),
        ]);
        const api = await resolveTarget(options, dependencies);
        const accepted = await api.post(
          `/runs/${encodeURIComponent(runId)}/retry`,
          options.note === undefined ? {} : { note: options.note },
          retryAcceptedSchema,
        );
        const said = `run ${accepted.runId} of ${accepted.pipeline} retries ${accepted.retryOf} from stage ${accepted.fromStage}${
          accepted.status === "queued" ? ", queued behind the run that is going (overlap: queue)" : ""
        }`;
        if (!options.wait) {
          if (options.json) io.out(JSON.stringify(accepted, null, 2));
          else {
            io.out(said);
            io.out(`follow it: npx tapestry logs ${accepted.runId} --follow`);
          }
          setExitCode(EXIT.ok);
          return;
        }
        const progress = options.json ? io.err : io.out;
        progress(`${said}; waiting for it to end`);
        const ended = await follow(api, accepted.runId, pollMs, {
          print: (event) => progress(format.eventLine(event, io.color)),
          waiting: options.json ? undefined : (run, polls) => io.progress(format.waitingLine(run, polls)),
          justAccepted: true,
        });
        io.progress(undefined);
        if (options.json) io.out(JSON.stringify(ended, null, 2));
        else for (const line of format.runVerdict(ended, io.color)) io.out(line);
        setExitCode(ended.status === "succeeded" ? EXIT.ok : EXIT.failed);
      } catch (error) {
        if (!(error instanceof TapestryError)) throw error;
        io.err(error.message);
        setExitCode(exitCodeOf(error));
      }
    });
  withExamples(
    retry,
    [
      "npx tapestry retry rain-shield-audience-m01JD3Q6ZC7V8Y1XK2N4P5R6S7T",
      "npx tapestry retry <runId> --wait            # exit 0 succeeded, 1 failed",
      'npx tapestry retry <runId> --stage prod --note "dbt model fixed"',
    ],
    `The stages before the one the run stopped at are not run again: the new run shows them skipped
("succeeded in <runId>"). A run still going is refused (exit 1), and so is one that succeeded.
${TARGET_HELP.trim()}`,
  );
  return retry;
}
