import { createInterface } from "node:readline/promises";
import { TapestryError } from "@tapestry/core/errors";
import { Command } from "commander";
import * as z from "zod";
import {
  type ApiCommandDependencies,
  type CommonOptions,
  exitCodeOf,
  TARGET_HELP,
  targeted,
} from "./api-commands";
import { type CliIo, EXIT, withExamples } from "./cli-policy";
import { UsageError } from "./secrets-command";
import type { StatusApiClient } from "./status-api/client";
import { StatusApiAnswerError, StatusApiRefusedError } from "./status-api/errors";

/**
 * `tapestry provision` and `tapestry teardown`: start the provision state machine (POST
 * /provisioning) or the deprovision one (DELETE /provisioning), then follow the run to its end by
 * polling GET /provisioning (its steps) and GET /stacks (the tool stacks' statuses; a stage without
 * the route answers 404 and is followed without them). Each step and stack status is printed once,
 * as a plain line, as it changes; a terminal also gets a spinner line. Exit 0 when the run
 * succeeded, 1 when it failed (with the step and the reason), 2 for a usage error.
 */

/** What tests replace: the API's transports (as the other API commands), and the confirmation's terminal. */
export interface ProvisionCommandDependencies extends ApiCommandDependencies {
  /** stdin is a terminal someone can answer on (default: process.stdin.isTTY) */
  readonly interactive?: boolean;
  /** asks the question on the terminal, answers the line typed (default: readline on stdin/stderr) */
  readonly ask?: (question: string) => Promise<string>;
}

/** POST and DELETE /provisioning (202). */
const acceptedSchema = z.looseObject({ runId: z.string() });

/** GET /provisioning: the last run, the fields these commands show checked; the rest kept for --json. */
export const provisioningRunSchema = z.looseObject({
  runId: z.string(),
  status: z.string(),
  startedAt: z.string().optional(),
  durationMs: z.number().optional(),
  steps: z.array(z.looseObject({ name: z.string(), status: z.string(), summary: z.string().optional() })),
  failure: z.looseObject({ step: z.string(), error: z.string() }).optional(),
  /** a deprovisioning run: what it leaves on purpose (retained buckets, snapshots, parameters, SQL to drop) */
  remains: z
    .array(
      z.looseObject({ kind: z.string(), name: z.string(), why: z.string(), remove: z.string().optional() }),
    )
    .optional(),
});
export type ProvisioningRunAnswer = z.infer<typeof provisioningRunSchema>;

/** GET /stacks (shared-s17 contract; 404 on a stage that predates it). */
const stacksSchema = z.looseObject({
  stacks: z.array(
    z.looseObject({
      tool: z.string(),
      stackName: z.string(),
      status: z.string().nullable(),
      lastDeploy: z.looseObject({ outcome: z.string(), reason: z.string().optional() }).nullable().optional(),
    }),
  ),
});

/** How long a run just accepted may take to show at GET /provisioning. */
const NOT_RECORDED_YET_MS = 30_000;
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

type FollowOptions = CommonOptions & { readonly note?: string };

export function createProvisionCommands(
  dependencies: ProvisionCommandDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command[] {
  const pollMs = dependencies.pollIntervalMs ?? 1_000;

  /** `first` runs before the target is looked for (teardown's question). */
  const act = async (
    options: CommonOptions,
    work: (api: StatusApiClient) => Promise<number>,
    first: () => Promise<void> = async () => undefined,
  ) => {
    try {
      await first();
      const { resolveTarget } = await import("./status-api/target");
      setExitCode(await work(await resolveTarget(options, dependencies)));
    } catch (error) {
      if (!(error instanceof TapestryError)) throw error;
      io.err(error.message);
      setExitCode(exitCodeOf(error));
    }
  };

  const provision = targeted(new Command("provision"))
    .description(
      "provision now: the warehouse, the self-hosted tool stacks, the tools' objects; follow the run to its end",
    )
    .option("--note <text>", "a note kept with the request (e.g. why), at most 1000 characters")
    .action((options: FollowOptions) =>
      act(options, async (api) => {
        const accepted = await api.post(
          "/provisioning",
          options.note === undefined ? {} : { note: options.note },
          acceptedSchema,
        );
        return followRun(api, accepted.runId, "provisioning", options);
      }),
    );
  withExamples(
    provision,
    [
      "npx tapestry provision --stage prod",
      "npx tapestry provision --local              # the running tapestry local",
      "npx tapestry provision --stage prod --json   # the final GET /provisioning answer",
    ],
    `Exit 0 when the run succeeded, 1 when it failed (the step and the reason are printed).
${TARGET_HELP.trim()}`,
  );

  const teardown = targeted(new Command("teardown"))
    .description(
      "deprovision: delete the tool stacks (newest first) and report what remains on purpose; asks first",
    )
    .option("--yes", "do not ask (required without a terminal, e.g. in CI)", false)
    .option("--purge", "ask the deprovisioning run to remove what it would otherwise keep", false)
    .action((options: CommonOptions & { yes: boolean; purge: boolean }) =>
      act(
        options,
        async (api) => {
          // the API takes purge as a query parameter (DELETE /provisioning?purge=true)
          const accepted = await api.delete(
            options.purge ? "/provisioning?purge=true" : "/provisioning",
            {},
            acceptedSchema,
          );
          return followRun(api, accepted.runId, "deprovisioning", options);
        },
        async () => {
          if (!options.yes) await confirm(options.stage ?? "local", options.purge, dependencies, io);
        },
      ),
    );
  withExamples(
    teardown,
    [
      "npx tapestry teardown --stage dev                 # asks: type the stage name",
      "npx tapestry teardown --stage dev --yes --json    # no question (CI)",
      "npx tapestry teardown --stage dev --purge",
    ],
    `Without a terminal, --yes is required (exit 2 otherwise). Exit 0 when the run succeeded, 1 when it
failed. At the end it prints what remains on purpose (retained buckets, the final database snapshot,
SSM parameters, the Snowflake objects with the SQL to drop them).
${TARGET_HELP.trim()}`,
  );

  /** Polls the run and the stacks until the run ends; prints each change once. */
  async function followRun(
    api: StatusApiClient,
    runId: string,
    what: "provisioning" | "deprovisioning",
    options: CommonOptions,
  ): Promise<number> {
    const progress = options.json ? io.err : io.out;
    progress(`${what} run ${runId} started; waiting for it to end`);
    const seenSteps = new Map<string, string>();
    const seenStacks = new Map<string, string>();
    let stacksRoute = true;
    const recordedBy = Date.now() + NOT_RECORDED_YET_MS;
    for (let polls = 0; ; polls++) {
      const run = await lastRun(api);
      if (run?.runId !== runId) {
        if (Date.now() > recordedBy) {
          throw new StatusApiAnswerError(
            `${what} run ${runId} was accepted but GET /provisioning does not show it after ${NOT_RECORDED_YET_MS / 1000} s${
              run ? ` (it shows ${run.runId})` : ""
            }`,
          );
        }
        await delay(pollMs);
        continue;
      }
      for (const step of run.steps) {
        if (step.status === "pending" || seenSteps.get(step.name) === step.status) continue;
        seenSteps.set(step.name, step.status);
        progress(stepLine(step));
      }
      if (stacksRoute) stacksRoute = await printStacks(api, seenStacks, progress);
      if (run.status !== "running") return finish(run, what, options);
      if (io.tty && !options.json) {
        const done = run.steps.filter((s) => s.status !== "pending").length;
        const next = run.steps.find((s) => s.status === "pending")?.name;
        io.progress(
          `${SPINNER[polls % SPINNER.length]} ${what}: ${done}/${run.steps.length} steps done${next ? `, now ${next}` : ""}`,
        );
      }
      await delay(pollMs);
    }
  }

  function finish(run: ProvisioningRunAnswer, what: string, options: CommonOptions): number {
    io.progress(undefined);
    if (options.json) {
      io.out(JSON.stringify(run, null, 2));
      return run.status === "succeeded" ? EXIT.ok : EXIT.failed;
    }
    const took = run.durationMs === undefined ? "" : ` in ${(run.durationMs / 1000).toFixed(1)} s`;
    if (run.status === "succeeded") io.out(`${what} run ${run.runId} succeeded${took}`);
    else {
      const where = run.failure ? ` at step ${run.failure.step}: ${run.failure.error}` : "";
      io.out(`${what} run ${run.runId} ${run.status}${where}`);
    }
    if (run.remains !== undefined) {
      if (run.remains.length === 0) io.out("nothing remains");
      else {
        io.out("what remains (on purpose):");
        for (const item of run.remains) io.out(`  - ${describeRemain(item)}`);
      }
    }
    return run.status === "succeeded" ? EXIT.ok : EXIT.failed;
  }

  return [provision, teardown];
}

async function lastRun(api: StatusApiClient): Promise<ProvisioningRunAnswer | undefined> {
  try {
    return await api.get("/provisioning", provisioningRunSchema);
  } catch (error) {
    // no run recorded yet: the one just accepted shows in a moment
    if (error instanceof StatusApiRefusedError && error.status === 404) return undefined;
    throw error;
  }
}

/** Prints each stack whose status changed; answers false when the API has no /stacks (an older stage). */
async function printStacks(
  api: StatusApiClient,
  seen: Map<string, string>,
  print: (line: string) => void,
): Promise<boolean> {
  let answer: z.infer<typeof stacksSchema>;
  try {
    answer = await api.get("/stacks", stacksSchema);
  } catch (error) {
    if (error instanceof StatusApiRefusedError && error.status === 404) return false;
    throw error;
  }
  for (const stack of answer.stacks) {
    const status = stack.status ?? "not deployed";
    const reason =
      stack.lastDeploy?.outcome === "failed" && stack.lastDeploy.reason ? `: ${stack.lastDeploy.reason}` : "";
    const line = `  stack ${stack.stackName} (${stack.tool}): ${status}${reason}`;
    if (seen.get(stack.stackName) === line) continue;
    seen.set(stack.stackName, line);
    print(line);
  }
  return true;
}

function stepLine(step: { name: string; status: string; summary?: string }): string {
  const mark = step.status === "succeeded" ? "✓" : step.status === "failed" ? "✗" : "-";
  return `  ${mark} ${step.name} ${step.status}${step.summary ? `: ${step.summary}` : ""}`;
}

/** A remaining item: text as it is; an object by its description (or name, and its fix); else its JSON. */
/** One thing a deprovisioning run left on purpose (DeprovisioningSucceeded's remains), and how to remove it. */
function describeRemain(item: NonNullable<ProvisioningRunAnswer["remains"]>[number]): string {
  const what = `${item.kind} ${item.name}: ${item.why}`;
  return item.remove === undefined ? what : `${what}\n      remove: ${item.remove}`;
}

/**
 * Teardown's question: the stage's name must be typed back. Without a terminal there is no one to
 * ask: a usage error (exit 2) that names --yes.
 */
async function confirm(
  target: string,
  purge: boolean,
  dependencies: ProvisionCommandDependencies,
  io: CliIo,
): Promise<void> {
  const interactive = dependencies.interactive ?? process.stdin.isTTY === true;
  if (!interactive) {
    throw new UsageError(
      "teardown deletes the tool stacks and asks first, and there is no terminal to ask on: pass --yes to tear down without asking",
    );
  }
  io.err(
    `This deletes ${target === "local" ? "the embedded control plane's" : `stage ${target}'s`} self-hosted tool stacks${purge ? " and, with --purge, what would otherwise remain" : ""}.`,
  );
  const ask = dependencies.ask ?? askOnTerminal;
  const answer = (await ask(`Type the stage name (${target}) to continue: `)).trim();
  if (answer !== target) {
    throw new UsageError(`"${answer}" is not "${target}": nothing was torn down`);
  }
}

async function askOnTerminal(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
