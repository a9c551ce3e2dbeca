import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunRecord } from "@tapestry/core";
import { REPO_ROOT } from "@tapestry/local";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import stuckJobConfig from "../../docs/scenarios/stuck-job.config";
import { SqliteRunLedger } from "../../packages/local/src/ledger";
import { parseScenario } from "../../packages/local/src/sandboxes";
import kickstart from "../../tapestry.config";
import { runTapestryOnce } from "../support/tapestry-cli";

/**
 * Every scenario example that docs/sandbox-scenarios.md links (docs/scenarios/*.yaml) runs as
 * documented: `tapestry local --once` as a user runs it (a child process of the real CLI, the
 * shipped config unless the file names another, `--port 0`, a state folder of its own), then the
 * outcome stated in the file's `# expect...` lines is checked against the exit code, the printed
 * lines and the run the ledger holds. The examples share nothing, so they run side by side.
 */

const DOC_FILE = join(REPO_ROOT, "docs", "sandbox-scenarios.md");
const EXAMPLES_DIR = join(REPO_ROOT, "docs", "scenarios");
/** --once must end on its own; the slowest example (a 1-minute step timeout) takes about 65 s */
const RUN_LIMIT_MS = 150_000;
const PIPELINE = "rain-shield-audience";
const REASONS = ["failed", "cancelled", "unknown-status", "partial-failure", "min-rows", "timeout", "error"];

interface Expectation {
  readonly status: "succeeded" | "failed";
  /** `stage/step` -> reason, for `failed` */
  readonly failedSteps: ReadonlyMap<string, string>;
  readonly errorTexts: readonly string[];
  readonly outputTexts: readonly string[];
  readonly config?: string;
}

interface Example {
  readonly name: string;
  readonly file: string;
  readonly text: string;
}

const doc = readFileSync(DOC_FILE, "utf8");
/** The examples in the order the doc links them. */
const examples: Example[] = [
  ...new Set([...doc.matchAll(/\]\(scenarios\/([a-z0-9-]+)\.yaml\)/g)].map((m) => m[1] ?? "")),
]
  .filter(Boolean)
  .map((name) => {
    const file = join(EXAMPLES_DIR, `${name}.yaml`);
    return { name, file, text: existsSync(file) ? readFileSync(file, "utf8") : "" };
  });

/** The `# expect...` lines at the head of an example; anything it cannot read fails the example. */
function expectationOf(example: Example): Expectation {
  const head: string[] = [];
  for (const line of example.text.split("\n")) {
    if (!line.startsWith("#")) break;
    head.push(line);
  }
  let status: Expectation["status"] | undefined;
  const failedSteps = new Map<string, string>();
  const errorTexts: string[] = [];
  const outputTexts: string[] = [];
  let config: string | undefined;
  for (const line of head) {
    const match = /^# (expect|expect-error|expect-output|config): (.+)$/.exec(line);
    if (!match) throw new Error(`${example.name}: cannot read "${line}"`);
    const [, key, value = ""] = match;
    if (key === "expect-error") errorTexts.push(value);
    else if (key === "expect-output") outputTexts.push(value);
    else if (key === "config") config = value;
    else if (value === "succeeded") status = "succeeded";
    else {
      const failed = /^failed (.+)$/.exec(value);
      if (!failed)
        throw new Error(`${example.name}: "# expect: ${value}" is neither succeeded nor failed ...`);
      status = "failed";
      for (const part of (failed[1] ?? "").split(/,\s*/)) {
        const [step = "", reason = ""] = part.split(" ");
        if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(step) || !REASONS.includes(reason)) {
          throw new Error(`${example.name}: "${part}" is not "<stage>/<step> <reason>"`);
        }
        failedSteps.set(step, reason);
      }
    }
  }
  if (!status) throw new Error(`${example.name}: no "# expect:" line`);
  return { status, failedSteps, errorTexts, outputTexts, ...(config ? { config } : {}) };
}

/** Every credential the scenario gives a sandbox: none of them may show anywhere. */
function credentialsOf(example: Example): string[] {
  const scenario = parseScenario(parseYaml(example.text) ?? {});
  return [scenario.airbyte?.auth, scenario["dbt-cloud"]?.auth, scenario.grouparoo?.auth].flatMap((auth) =>
    auth
      ? Object.entries(auth)
          .filter(([key, value]) => key !== "kind" && typeof value === "string")
          .map(([, value]) => String(value))
      : [],
  );
}

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** every run of the pipeline in the ledger the process left */
  readonly runs: readonly RunRecord[];
  /** the runs and their events as JSON, for the credential check */
  readonly ledgerText: string;
}

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function runExample(example: Example, expectation: Expectation): Promise<CliRun> {
  const stateDir = mkdtempSync(join(tmpdir(), `tapestry-example-${example.name}-`));
  temps.push(stateDir);
  const args = ["--state-dir", stateDir, "--scenario", example.file];
  if (expectation.config) args.push("--config", expectation.config);
  const { code, stdout, stderr } = await runTapestryOnce(args, { limitMs: RUN_LIMIT_MS });
  const ledgerFile = join(stateDir, "ledger.sqlite");
  if (!existsSync(ledgerFile)) return { code, stdout, stderr, runs: [], ledgerText: "" };
  const ledger = SqliteRunLedger.open(ledgerFile);
  try {
    const { runs: summaries } = await ledger.listRuns(PIPELINE, { limit: 10 });
    const runs: RunRecord[] = [];
    const texts: string[] = [];
    for (const { runId } of summaries) {
      const run = await ledger.getRun(runId);
      if (run) runs.push(run);
      texts.push(JSON.stringify([run, await ledger.listEvents(runId)]));
    }
    return { code, stdout, stderr, runs, ledgerText: texts.join("\n") };
  } finally {
    ledger.close();
  }
}

describe("docs/sandbox-scenarios.md", () => {
  it("links every example file in docs/scenarios, and each link's code block is that file word for word", () => {
    const files = readdirSync(EXAMPLES_DIR)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => f.replace(/\.yaml$/, ""));
    expect(examples.map((e) => e.name).sort()).toEqual(files.sort());
    expect(examples.length).toBeGreaterThanOrEqual(20);
    for (const example of examples) {
      const link = doc.indexOf(`](scenarios/${example.name}.yaml)`);
      const block = /```yaml\n([\s\S]*?)```/.exec(doc.slice(link))?.[1];
      expect(block, example.name).toBe(example.text);
      expect(() => expectationOf(example), example.name).not.toThrow();
    }
  });

  it("runs the stuck-job example against the shipped config, changed only in the one step's timeout", () => {
    const steps = (config: typeof kickstart) =>
      config.pipelines.flatMap((p) => p.stages.flatMap((s) => s.steps.map((step) => ({ ...step }))));
    const shipped = steps(kickstart);
    const changed = steps(stuckJobConfig);
    expect(changed.map((s) => s.timeoutMinutes)).toEqual(
      shipped.map((s) => (s.name === "zoom-webinar-registrants" ? 1 : s.timeoutMinutes)),
    );
    expect({ ...stuckJobConfig, pipelines: [] }).toEqual({ ...kickstart, pipelines: [] });
    expect(changed.map((s) => ({ ...s, timeoutMinutes: 0 }))).toEqual(
      shipped.map((s) => ({ ...s, timeoutMinutes: 0 })),
    );
  });
});

/** A step timeout takes a minute of mostly idle waiting: start those first, beside the others. */
function waitsForATimeout(example: Example): boolean {
  try {
    return [...expectationOf(example).failedSteps.values()].includes("timeout");
  } catch {
    return false; // an unreadable head fails its own test
  }
}
const longestFirst = [...examples].sort((a, b) => Number(waitsForATimeout(b)) - Number(waitsForATimeout(a)));

describe.concurrent("every documented scenario example runs as documented (tapestry local --once)", () => {
  it.for(longestFirst)("$name", { timeout: RUN_LIMIT_MS + 10_000 }, async (example, { expect }) => {
    const expectation = expectationOf(example);
    const result = await runExample(example, expectation);
    const where = `${example.name}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;

    expect(result.code, where).toBe(expectation.status === "succeeded" ? 0 : 1);
    expect(result.runs, where).toHaveLength(1);
    const run = result.runs[0];
    expect(run?.status, where).toBe(expectation.status);
    const failed = new Map(
      (run?.steps ?? []).filter((s) => s.status === "failed").map((s) => [`${s.stage}/${s.step}`, s]),
    );
    expect(Object.fromEntries([...failed].map(([step, record]) => [step, record.reason])), where).toEqual(
      Object.fromEntries(expectation.failedSteps),
    );
    // every other step that started ended well: nothing is left running
    for (const step of run?.steps ?? []) {
      if (!failed.has(`${step.stage}/${step.step}`))
        expect(step.status, `${step.step}: ${where}`).toBe("succeeded");
    }
    if (expectation.status === "succeeded") expect(run?.steps, where).toHaveLength(4);
    for (const text of expectation.errorTexts) {
      expect(
        [...failed.values()].some((step) => step.error?.includes(text)),
        `no failed step's error contains ${JSON.stringify(text)}: ${where}`,
      ).toBe(true);
    }
    for (const text of expectation.outputTexts) expect(result.stdout, where).toContain(text);
    for (const secret of credentialsOf(example)) {
      for (const [name, text] of [
        ["stdout", result.stdout],
        ["stderr", result.stderr],
        ["ledger", result.ledgerText],
      ] as const) {
        expect(text.includes(secret), `the credential ${JSON.stringify(secret)} shows in the ${name}`).toBe(
          false,
        );
      }
    }
  });
});
