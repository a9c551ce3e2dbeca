import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { type ConfigIssue, TapestryError } from "@tapestry/core/errors";
import { issuesAsMessages } from "@tapestry/core/zod-messages";
import { parse as parseYaml } from "yaml";
import * as z from "zod";

/**
 * A sandbox scenario: what the stand-ins of Airbyte, dbt Cloud and Grouparoo do, per call (rules)
 * and per job (outcomes), written by hand in YAML or JSON. The format is documented, with one
 * example per behaviour, in docs/sandbox-scenarios.md. Every error names its path and the fix.
 */

export const AIRBYTE_OPERATIONS = [
  "createAccessToken",
  "createJob",
  "getJob",
  "cancelJob",
  "listJobs",
  // what provisioning calls (airbyte-config.ts)
  "listWorkspaces",
  "createWorkspace",
  "listSources",
  "createSource",
  "getSource",
  "patchSource",
  "listDestinations",
  "createDestination",
  "getDestination",
  "patchDestination",
  "listConnections",
  "createConnection",
  "getConnection",
  "patchConnection",
  "getWorkspace",
  "updateWorkspace",
  // the provision state machine's wait for a self-hosted Airbyte (GET /health)
  "health",
] as const;
export const DBT_CLOUD_OPERATIONS = [
  "triggerRun",
  "getRun",
  "cancelRun",
  "listRuns",
  "getRunArtifact",
  "listWebhookSubscriptions",
  "createWebhookSubscription",
  "updateWebhookSubscription",
] as const;
export const GROUPAROO_OPERATIONS = [
  "runSchedule",
  "getRun",
  "listScheduleRuns",
  "stopRun",
  // the provision state machine's wait for a self-hosted Grouparoo (GET /api/v1/status/public)
  "statusPublic",
] as const;

export type AirbyteOperation = (typeof AIRBYTE_OPERATIONS)[number];
export type DbtCloudOperation = (typeof DBT_CLOUD_OPERATIONS)[number];
export type GrouparooOperation = (typeof GROUPAROO_OPERATIONS)[number];

/** Statuses the tools really use; an `unknown-status` outcome must pick something else. */
const AIRBYTE_KNOWN_STATUSES = ["pending", "running", "incomplete", "failed", "succeeded", "cancelled"];
const DBT_KNOWN_STATUSES = [1, 2, 3, 10, 20, 30];
const GROUPAROO_KNOWN_STATES = ["draft", "running", "complete", "stopped"];

const MAX_MS = 3_600_000;

export class ScenarioError extends TapestryError {
  override readonly name = "ScenarioError";
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly source = "scenario",
  ) {
    super(
      `${source} is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${issues
        .map((i) => `  - ${i.path}: ${i.message}`)
        .join("\n")}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Building blocks whose messages say what was expected and what was found.

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return String(value);
  }
}

/** An error-message function: "is required: <what>" when missing, else "expected <what>, got <input>". */
function expecting(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined
      ? `is required: expected ${what}`
      : `expected ${what}, got ${show(issue.input)}`;
}

function int(min: number, max?: number, unit?: string) {
  const range = max === undefined ? `>= ${min}` : `${min}..${max}`;
  const error = expecting(`an integer ${range}${unit ? ` (${unit})` : ""}`);
  const base = z.number({ error }).int({ error }).min(min, { error });
  return max === undefined ? base : base.max(max, { error });
}

function positiveNumber(unit: string) {
  const error = expecting(`a number > 0 (${unit})`);
  return z.number({ error }).positive({ error });
}

function text(what = "a non-empty string") {
  const error = expecting(what);
  return z.string({ error }).min(1, { error });
}

function bool() {
  return z.boolean({ error: expecting("true or false") });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: expecting(`one of ${values.map((v) => JSON.stringify(v)).join(", ")}`) });
}

function list<T extends z.ZodType>(item: T, what: string) {
  const error = expecting(`a list of ${what}`);
  return z.array(item, { error });
}

/** A mapping that rejects unknown keys, listing the allowed ones (see parseScenario). */
function mapping<S extends z.ZodRawShape>(shape: S, hidden: readonly string[] = []) {
  const allowed = Object.keys(shape)
    .filter((key) => !hidden.includes(key))
    .join(", ");
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") return `unknown key: remove it or use one of: ${allowed}`;
      return expecting(`a mapping with keys among: ${allowed}`)(issue);
    },
  });
}

function authKinds(kinds: readonly string[]) {
  return (issue: { input?: unknown; code?: string }) => {
    const input = issue.input as Record<string, unknown> | undefined;
    if (input === null || typeof input !== "object" || Array.isArray(input))
      return expecting(`a mapping with a "kind" among ${kinds.map((k) => JSON.stringify(k)).join(", ")}`)(
        issue,
      );
    // placed at `kind` by the shared wording, which says "is required" when it is missing
    const expected = `one of ${kinds.map((k) => JSON.stringify(k)).join(", ")}`;
    return input.kind === undefined
      ? `expected ${expected}`
      : `expected ${expected}, got ${show(input.kind)}`;
  };
}

// ---------------------------------------------------------------------------------------------
// Rules: matched per call, first match wins.

const respondSchema = mapping({
  status: int(200, 599),
  body: z.unknown().optional(),
  headers: z
    .record(z.string(), z.string(), { error: expecting("a mapping of header names to strings") })
    .optional(),
  retryAfterSeconds: int(0, 86_400, "seconds").optional(),
});

function ruleSchema<const Ops extends readonly [string, ...string[]]>(operations: Ops, withTokens: boolean) {
  const names = [...operations, "any"] as const;
  const opError = expecting(
    `an operation (one of ${names.map((n) => JSON.stringify(n)).join(", ")}) or a list of them`,
  );
  const op = z.enum(names as unknown as [string, ...string[]], { error: opError });
  const shape = {
    on: z.union([op, z.array(op, { error: opError }).min(1, { error: opError })], { error: opError }),
    calls: list(int(1), "call numbers (integers >= 1)")
      .min(1, { error: expecting("a non-empty list of call numbers") })
      .optional(),
    from: int(1).optional(),
    times: int(1).optional(),
    latencyMs: int(0, MAX_MS, "milliseconds").optional(),
    process: bool().optional(),
    drop: bool().optional(),
    respond: respondSchema.optional(),
    revokeTokens: withTokens
      ? bool().optional()
      : z
          .never({
            error:
              "only the Airbyte sandbox issues tokens: script a 401 with respond: { status: 401 } instead",
          })
          .optional(),
  };
  return mapping(shape, withTokens ? [] : ["revokeTokens"]).superRefine((rule, ctx) => {
    const r = rule as {
      calls?: number[];
      from?: number;
      times?: number;
      latencyMs?: number;
      process?: boolean;
      drop?: boolean;
      respond?: unknown;
      revokeTokens?: boolean;
    };
    if (r.calls && (r.from !== undefined || r.times !== undefined))
      ctx.addIssue({
        code: "custom",
        path: ["calls"],
        message: "use either calls or from/times, not both",
      });
    if (r.drop && r.respond)
      ctx.addIssue({
        code: "custom",
        path: ["drop"],
        message: "drop and respond exclude each other (a dropped connection gets no answer): remove one",
      });
    const effects = ["latencyMs", "respond", "drop", ...(withTokens ? ["revokeTokens"] : [])];
    const hasEffect =
      r.latencyMs !== undefined || r.respond !== undefined || r.drop === true || r.revokeTokens === true;
    if (!hasEffect)
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `this rule does nothing: give it at least one of ${effects.join(", ")}`,
      });
    if (r.process && r.respond === undefined && !r.drop && r.latencyMs === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["process"],
        message:
          "process: true only changes something with respond, drop or latencyMs: add one or remove process",
      });
  });
}

// ---------------------------------------------------------------------------------------------
// Outcomes: one per job/run created, consumed in order.

interface OutcomeChecks {
  knownStatuses: readonly (string | number)[];
  outcomesWithError: readonly string[];
}

function outcomeRefinement(checks: OutcomeChecks) {
  return (entry: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const outcome = entry.outcome ?? "succeeded";
    if (outcome === "unknown-status" && entry.status === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["status"],
        message: "is required with outcome unknown-status: give the status value the tool should report",
      });
    if (outcome !== "unknown-status" && entry.status !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["status"],
        message: `only applies to outcome unknown-status (this entry's outcome is ${outcome}): remove it`,
      });
    if (entry.status !== undefined && checks.knownStatuses.includes(entry.status as string | number))
      ctx.addIssue({
        code: "custom",
        path: ["status"],
        message: `${show(entry.status)} is a status the tool really uses: pick a value outside ${checks.knownStatuses.map((s) => show(s)).join(", ")}`,
      });
    if (entry.error !== undefined && !checks.outcomesWithError.includes(outcome as string))
      ctx.addIssue({
        code: "custom",
        path: ["error"],
        message: `only applies to outcome ${checks.outcomesWithError.join(" or ")} (this entry's outcome is ${outcome}): remove it`,
      });
  };
}

// ---------------------------------------------------------------------------------------------
// Webhooks: what a sandbox does with the completion webhook of a job that ended, one entry per
// job that ends (an entry with `for` waits for its key), consumed in order; then it sends each as is.

function webhookScriptSchema<K extends z.ZodType<string | number>>(key: K) {
  return mapping({
    for: key.optional(),
    drop: bool().optional(),
    delayMs: msField(),
    copies: int(1, 10, "deliveries of the same webhook").optional(),
    forge: bool().optional(),
    claim: oneOf(["succeeded", "failed"]).optional(),
  }).superRefine((entry, ctx) => {
    const e = entry as { drop?: boolean; delayMs?: number; copies?: number; forge?: boolean; claim?: string };
    if (e.drop && (e.delayMs !== undefined || e.copies !== undefined || e.forge || e.claim !== undefined))
      ctx.addIssue({
        code: "custom",
        path: ["drop"],
        message: "a dropped webhook is never sent: drop excludes delayMs, copies, forge and claim",
      });
    if (!e.drop && e.delayMs === undefined && e.copies === undefined && !e.forge && e.claim === undefined)
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "this entry does nothing: give it at least one of drop, delayMs, copies, forge, claim",
      });
  });
}

const AIRBYTE_OUTCOMES = [
  "succeeded",
  "failed",
  "cancelled",
  "stuck",
  "incomplete-then-succeeded",
  "unknown-status",
] as const;
const DBT_OUTCOMES = ["succeeded", "failed", "cancelled", "stuck", "unknown-status"] as const;
const GROUPAROO_OUTCOMES = ["succeeded", "failed", "cancelled", "stuck", "unknown-status"] as const;

const msField = () => int(0, MAX_MS, "milliseconds").optional();
const countField = () => int(0).optional();

const airbyteTiming = {
  queuedMs: msField(),
  durationMs: msField(),
  incompleteMs: msField(),
  rows: countField(),
  bytes: countField(),
};
const airbyteOutcomeFields = {
  outcome: oneOf(AIRBYTE_OUTCOMES).optional(),
  error: text().optional(),
  status: text("a status string").optional(),
};
const airbyteChecks = { knownStatuses: AIRBYTE_KNOWN_STATUSES, outcomesWithError: ["failed"] };

const dbtTiming = { queuedMs: msField(), startingMs: msField(), durationMs: msField() };
const dbtOutcomeFields = {
  outcome: oneOf(DBT_OUTCOMES).optional(),
  error: text().optional(),
  status: int(0, 1000).optional(),
};
const dbtChecks = { knownStatuses: DBT_KNOWN_STATUSES, outcomesWithError: ["failed"] };

const grouparooTiming = { queuedMs: msField(), durationMs: msField(), rows: countField() };
const grouparooOutcomeFields = {
  outcome: oneOf(GROUPAROO_OUTCOMES).optional(),
  error: text().optional(),
  status: text("a state string").optional(),
};
const grouparooChecks = { knownStatuses: GROUPAROO_KNOWN_STATES, outcomesWithError: ["failed"] };

const airbyteSection = mapping({
  defaults: mapping(airbyteTiming).optional(),
  outcomes: list(
    mapping({
      for: text("a connection id or name").optional(),
      ...airbyteOutcomeFields,
      ...airbyteTiming,
    }).superRefine(outcomeRefinement(airbyteChecks)),
    "outcomes",
  ).optional(),
  alreadyRunning: list(
    mapping({
      connectionId: text("a connection id or name"),
      remainingMs: msField(),
      ...airbyteOutcomeFields,
      ...airbyteTiming,
    }).superRefine(outcomeRefinement(airbyteChecks)),
    "jobs already in flight",
  ).optional(),
  knownConnections: list(text("a connection id"), "connection ids").optional(),
  webhooks: list(webhookScriptSchema(text("a connection id")), "webhook scripts").optional(),
  rules: list(ruleSchema(AIRBYTE_OPERATIONS, true), "rules").optional(),
  auth: z
    .discriminatedUnion(
      "kind",
      [
        mapping({
          kind: z.literal("client-credentials"),
          clientId: text(),
          clientSecret: text(),
          tokenTtlSeconds: positiveNumber("seconds").optional(),
        }),
        mapping({ kind: z.literal("bearer"), token: text() }),
        mapping({ kind: z.literal("none") }),
      ],
      { error: authKinds(["client-credentials", "bearer", "none"]) },
    )
    .optional(),
});

const dbtSection = mapping({
  defaults: mapping(dbtTiming).optional(),
  outcomes: list(
    mapping({ for: int(1).optional(), ...dbtOutcomeFields, ...dbtTiming }).superRefine(
      outcomeRefinement(dbtChecks),
    ),
    "outcomes",
  ).optional(),
  alreadyRunning: list(
    mapping({
      jobId: int(1),
      accountId: int(1).optional(),
      remainingMs: msField(),
      ...dbtOutcomeFields,
      ...dbtTiming,
    }).superRefine(outcomeRefinement(dbtChecks)),
    "runs already in flight",
  ).optional(),
  knownJobs: list(int(1), "job ids").optional(),
  webhooks: list(webhookScriptSchema(int(1)), "webhook scripts").optional(),
  rules: list(ruleSchema(DBT_CLOUD_OPERATIONS, false), "rules").optional(),
  auth: z
    .discriminatedUnion(
      "kind",
      [mapping({ kind: z.literal("token"), token: text() }), mapping({ kind: z.literal("none") })],
      {
        error: authKinds(["token", "none"]),
      },
    )
    .optional(),
});

const grouparooSection = mapping({
  defaults: mapping(grouparooTiming).optional(),
  outcomes: list(
    mapping({
      for: text("a schedule id").optional(),
      ...grouparooOutcomeFields,
      ...grouparooTiming,
    }).superRefine(outcomeRefinement(grouparooChecks)),
    "outcomes",
  ).optional(),
  alreadyRunning: list(
    mapping({
      scheduleId: text("a schedule id"),
      remainingMs: msField(),
      ...grouparooOutcomeFields,
      ...grouparooTiming,
    }).superRefine(outcomeRefinement(grouparooChecks)),
    "runs already in flight",
  ).optional(),
  knownSchedules: list(text("a schedule id"), "schedule ids").optional(),
  rules: list(ruleSchema(GROUPAROO_OPERATIONS, false), "rules").optional(),
  auth: z
    .discriminatedUnion(
      "kind",
      [mapping({ kind: z.literal("api-key"), apiKey: text() }), mapping({ kind: z.literal("none") })],
      { error: authKinds(["api-key", "none"]) },
    )
    .optional(),
});

export const scenarioSchema = mapping({
  description: z.string({ error: expecting("a string") }).optional(),
  airbyte: airbyteSection.optional(),
  "dbt-cloud": dbtSection.optional(),
  grouparoo: grouparooSection.optional(),
});

export type Scenario = z.output<typeof scenarioSchema>;
export type AirbyteScenario = z.output<typeof airbyteSection>;
export type DbtCloudScenario = z.output<typeof dbtSection>;
export type GrouparooScenario = z.output<typeof grouparooSection>;
export type AirbyteAuth = NonNullable<AirbyteScenario["auth"]>;
export type DbtCloudAuth = NonNullable<DbtCloudScenario["auth"]>;
export type GrouparooAuth = NonNullable<GrouparooScenario["auth"]>;

/** A rule as the shared matching engine sees it (revokeTokens only exists for Airbyte). */
export interface ScenarioRule {
  on: string | string[];
  calls?: number[];
  from?: number;
  times?: number;
  latencyMs?: number;
  process?: boolean;
  drop?: boolean;
  respond?: { status: number; body?: unknown; headers?: Record<string, string>; retryAfterSeconds?: number };
  revokeTokens?: boolean;
}

/** A webhook script entry, as the sandboxes' webhook sender reads it (tool-neutral). */
export interface WebhookScript {
  for?: string | number;
  drop?: boolean;
  delayMs?: number;
  copies?: number;
  forge?: boolean;
  claim?: "succeeded" | "failed";
}

/** The fields of an outcome entry, seed or defaults block that the lifecycle reads (tool-neutral). */
export interface OutcomeSpec {
  outcome?: string;
  queuedMs?: number;
  startingMs?: number;
  durationMs?: number;
  incompleteMs?: number;
  rows?: number;
  bytes?: number;
  error?: string;
  status?: string | number;
}

// ---------------------------------------------------------------------------------------------

/**
 * Checks a scenario document (already parsed from YAML/JSON) and returns it typed. Throws
 * ScenarioError listing every problem as `path: message`, e.g.
 * `airbyte.rules[2].respond.status: expected an integer 200..599, got "x"`.
 */
export function parseScenario(input: unknown, source?: string): Scenario {
  const result = scenarioSchema.safeParse(input ?? {}, { reportInput: true });
  if (!result.success) {
    // a mapping's own message names the keys it allows (see mapping())
    const issues = issuesAsMessages(result.error.issues, { unknownKey: (issue) => issue.message });
    throw new ScenarioError(issues, source);
  }
  return result.data;
}

/** Reads a scenario file: `.json` as JSON, anything else as YAML (a JSON document is valid YAML too). */
export async function loadScenarioFile(path: string): Promise<Scenario> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    throw new ScenarioError(
      [{ path: "(file)", message: `cannot read ${path}: ${(error as Error).message}` }],
      `scenario ${path}`,
    );
  }
  let document: unknown;
  try {
    document = extname(path).toLowerCase() === ".json" ? JSON.parse(raw) : parseYaml(raw);
  } catch (error) {
    throw new ScenarioError(
      [
        {
          path: "(file)",
          message: `not valid ${extname(path) === ".json" ? "JSON" : "YAML"}: ${(error as Error).message}`,
        },
      ],
      `scenario ${path}`,
    );
  }
  return parseScenario(document, `scenario ${path}`);
}
