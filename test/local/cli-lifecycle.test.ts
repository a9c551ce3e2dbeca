import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type TapestryConfigInput } from "@tapestry/core/config";
import { REPO_ROOT } from "@tapestry/local";
import { SqliteRunLedger } from "@tapestry/local/ledger";
import { type SandboxSet, startSandboxes } from "@tapestry/local/sandboxes";
import { afterEach, describe, expect, it } from "vitest";
import kickstart from "../../tapestry.config";
import { pipelinesWithConnectionIds } from "../support/kickstart-connections";
import { CLI, childEnv, NODE } from "../support/tapestry-cli";

/**
 * `tapestry local` as a user runs it (a child process on the project's Node 24), stopped by a
 * signal or killed outright mid-run. Its tools are sandboxes hosted by this test process
 * (`--real`, their secrets in TAPESTRY_SECRET_* variables), so they outlive the control plane
 * and the test can count what reached them after the signal: triggers of later stages, cancels.
 */

const PIPELINE = "rain-shield-audience";
/** the bar: a stopped control plane is gone within 5 s of the signal */
const EXIT_WITHIN_MS = 5_000;
const TEST_TIMEOUT_MS = 60_000;

const CREDENTIALS = {
  AIRBYTE_CLIENT_ID: "lifecycle-client",
  AIRBYTE_CLIENT_SECRET: "lifecycle-secret-6f1d2c",
  DBT_CLOUD_TOKEN: "dbtc_lifecycle_token_93ab",
  GROUPAROO_API_KEY: "lifecycle-grouparoo-key-51e0",
};

interface Tools {
  readonly sandboxes: SandboxSet;
  readonly config: string;
  readonly stateDir: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Sandboxes whose first two Airbyte jobs never end (the ingest stage is in flight for as long as
 * the test wants) and whose later jobs succeed, and a config that points the kickstart at them.
 */
async function tools(airbyteRules: readonly unknown[] = []): Promise<Tools> {
  const sandboxes = await startSandboxes({
    airbyte: {
      defaults: { queuedMs: 20, durationMs: 150, rows: 40 },
      outcomes: [{ outcome: "stuck" }, { outcome: "stuck" }],
      rules: airbyteRules,
      auth: {
        kind: "client-credentials",
        clientId: CREDENTIALS.AIRBYTE_CLIENT_ID,
        clientSecret: CREDENTIALS.AIRBYTE_CLIENT_SECRET,
      },
    },
    "dbt-cloud": {
      defaults: { queuedMs: 20, durationMs: 150 },
      auth: { kind: "token", token: CREDENTIALS.DBT_CLOUD_TOKEN },
    },
    grouparoo: {
      defaults: { queuedMs: 20, durationMs: 150, rows: 58 },
      auth: { kind: "api-key", apiKey: CREDENTIALS.GROUPAROO_API_KEY },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), "tapestry-lifecycle-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => sandboxes.close());
  const base = parseConfig(kickstart);
  const config: TapestryConfigInput = {
    tools: {
      airbyte: {
        baseUrl: sandboxes.airbyte.baseUrl,
        auth: {
          kind: "client-credentials",
          clientIdSecret: "AIRBYTE_CLIENT_ID",
          clientSecretSecret: "AIRBYTE_CLIENT_SECRET",
        },
        requestTimeoutSeconds: 5,
      },
      "dbt-cloud": {
        baseUrl: sandboxes.dbtCloud.baseUrl,
        tokenSecret: "DBT_CLOUD_TOKEN",
        requestTimeoutSeconds: 5,
      },
      grouparoo: {
        baseUrl: sandboxes.grouparoo.baseUrl,
        apiKeySecret: "GROUPAROO_API_KEY",
        requestTimeoutSeconds: 5,
      },
    },
    // no provisioning here (the tools are the test's): the steps give their connections' ids
    pipelines: pipelinesWithConnectionIds(base.pipelines).map((pipeline) => ({
      ...pipeline,
      stages: pipeline.stages.map((stage) => ({
        ...stage,
        // real tools are polled at their configured interval: a second here (and, to stay
        // within Step Functions' history budget at that pace, 5-minute step timeouts)
        steps: stage.steps.map(({ minRows: _, ...step }) => ({
          ...step,
          pollIntervalSeconds: 1,
          timeoutMinutes: 5,
        })),
      })),
    })),
  };
  const file = join(dir, "tapestry.config.mjs");
  writeFileSync(file, `export default ${JSON.stringify(config, null, 2)};\n`);
  return { sandboxes, config: file, stateDir: join(dir, "state") };
}

interface Local {
  readonly child: ChildProcessWithoutNullStreams;
  output(): string;
  /** resolves with the first line matching, or rejects after `ms` */
  line(pattern: RegExp, ms?: number): Promise<string>;
  /** resolves when the process has exited: its code, signal and how long after `since` */
  exited(since?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
}

function local(t: Tools, args: readonly string[]): Local {
  const env = childEnv(
    Object.fromEntries(
      Object.entries(CREDENTIALS).map(([name, value]) => [`TAPESTRY_SECRET_${name}`, value]),
    ),
  );
  const child = spawn(
    NODE,
    [
      CLI,
      "local",
      "--port",
      "0",
      "--config",
      t.config,
      "--state-dir",
      t.stateDir,
      "--real",
      "airbyte",
      "dbt-cloud",
      "grouparoo",
      ...args,
    ],
    { cwd: REPO_ROOT, env, stdio: ["pipe", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  const watchers = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const watch of watchers) watch();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), TEST_TIMEOUT_MS - 5_000);
  cleanups.push(() => {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  return {
    child,
    output,
    line: (pattern, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = stdout.split("\n").find((l) => pattern.test(l));
          if (found === undefined) return;
          watchers.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`no line matching ${pattern} within ${ms} ms\n${output()}`));
        }, ms);
        watchers.add(check);
        check();
      }),
    exited: async (since = Date.now()) => {
      const { code, signal, at } = await exit;
      return { code, signal, afterMs: at - since };
    },
  };
}

/** What reached the sandboxes so far: triggers (any tool) and the Airbyte jobs' states. */
function seen(t: Tools) {
  const { airbyte, dbtCloud, grouparoo } = t.sandboxes;
  return {
    triggers: airbyte.counters.triggers + dbtCloud.counters.triggers + grouparoo.counters.triggers,
    laterStageTriggers: dbtCloud.counters.triggers + grouparoo.counters.triggers,
    airbyteJobs: airbyte.jobs().map((job) => job.status),
  };
}

async function ledgerOf(t: Tools) {
  const ledger = SqliteRunLedger.open(join(t.stateDir, "ledger.sqlite"));
  try {
    const runs = (await ledger.listRuns(PIPELINE, { limit: 10 })).runs;
    return { runs, lock: await ledger.getRunLock(PIPELINE, new Date().toISOString()) };
  } finally {
    ledger.close();
  }
}

const INGEST_STARTED = /ingest\/salesforce-contacts airbyte started job/;

describe("tapestry local stopped by a signal mid-run (child process, tools outliving it)", {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  it.each([
    ["SIGINT", false],
    ["SIGTERM", false],
    ["SIGHUP", false],
    ["SIGINT", true],
    ["SIGTERM", true],
    ["SIGHUP", true],
  ] as const)(
    "%s (--once: %s): nothing reaches a tool after the signal but the cancels; jobs cancelled; outcome recorded; gone within 5 s",
    async (signal, once) => {
      const t = await tools();
      const cli = local(t, once ? ["--once"] : []);
      await cli.line(INGEST_STARTED);
      await cli.line(/ingest\/zoom-webinar-registrants airbyte started job/);
      const before = seen(t);
      expect(before.airbyteJobs.every((status) => status === "pending" || status === "running")).toBe(true);

      const signalledAt = Date.now();
      cli.child.kill(signal);
      const exit = await cli.exited(signalledAt);

      expect(exit.afterMs, cli.output()).toBeLessThan(EXIT_WITHIN_MS);
      expect(exit.code, cli.output()).toBe(once ? 1 : 0);
      expect(cli.output()).toContain(`Stopping (${signal})`);
      expect(cli.output()).toContain("Stopped.");
      const after = seen(t);
      // no trigger of any stage after the signal; the ingest jobs in flight were cancelled
      expect(after.triggers).toBe(before.triggers);
      expect(after.laterStageTriggers).toBe(0);
      expect(after.airbyteJobs).toEqual(["cancelled", "cancelled"]);
      const { runs, lock } = await ledgerOf(t);
      expect(runs.map((r) => [r.status, r.reason])).toEqual([["failed", "aborted"]]);
      expect(runs[0]?.error).toContain(`(${signal})`);
      expect(lock).toBeUndefined();
    },
  );

  it("a second Ctrl-C exits at once, leaving the runs to the next start's reconciliation (below)", async () => {
    // cancels that take long: the first Ctrl-C's clean stop is still under way at the second
    const t = await tools([{ on: "cancelJob", latencyMs: 4_000 }]);
    const cli = local(t, []);
    await cli.line(INGEST_STARTED);
    await cli.line(/ingest\/zoom-webinar-registrants airbyte started job/);
    cli.child.kill("SIGINT");
    await cli.line(/Stopping \(SIGINT\)/);
    cli.child.kill("SIGINT");
    const exit = await cli.exited();
    expect(exit.code, cli.output()).toBe(130);
    expect(cli.output()).toContain("exiting at once");
    expect(cli.output()).not.toContain("Stopped.");
    // it did not wait for the clean stop: the run's outcome is left to the next start
    expect((await ledgerOf(t)).runs.map((r) => r.status)).toEqual(["running"]);
  });
});

describe("tapestry local killed with SIGKILL mid-run, then started again on the same state folder", {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  it("reconciles the dead run as failed (aborted), cancels the jobs it left, frees its lock at once; the next run succeeds", async () => {
    const t = await tools();
    const first = local(t, []);
    await first.line(INGEST_STARTED);
    await first.line(/ingest\/zoom-webinar-registrants airbyte started job/);
    first.child.kill("SIGKILL");
    expect((await first.exited()).signal).toBe("SIGKILL");
    // the killed process recorded nothing more: its run reads running, its jobs have not ended
    // (queued or running in Airbyte, depending on how soon the kill came)
    expect((await ledgerOf(t)).runs.map((r) => r.status)).toEqual(["running"]);
    const notEnded = expect.stringMatching(/^(pending|running)$/);
    expect(seen(t).airbyteJobs).toEqual([notEnded, notEnded]);

    const again = local(t, ["--once"]);
    const reconciled = await again.line(/A run left unfinished by a control plane that stopped/);
    expect(reconciled).toMatch(
      /ended failed; jobs cancelled: (zoom-webinar-registrants, salesforce-contacts|salesforce-contacts, zoom-webinar-registrants)/,
    );
    const exit = await again.exited();
    expect(exit.code, again.output()).toBe(0);

    // the two jobs the dead run left were cancelled in the tool; the new run made its own
    const jobs = seen(t).airbyteJobs;
    expect(jobs.slice(0, 2)).toEqual(["cancelled", "cancelled"]);
    expect(jobs.slice(2)).toEqual(["succeeded", "succeeded"]);
    const { runs, lock } = await ledgerOf(t);
    expect(runs.map((r) => [r.status, r.reason ?? null])).toEqual([
      ["succeeded", null],
      ["failed", "aborted"],
    ]);
    expect(runs[1]?.steps.map((s) => [s.step, s.status, s.reason])).toEqual([
      ["zoom-webinar-registrants", "failed", "aborted"],
      ["salesforce-contacts", "failed", "aborted"],
    ]);
    expect(lock).toBeUndefined();
  });
});
