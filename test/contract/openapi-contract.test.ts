import { describe, expect, it } from "vitest";
import { compiledSchemaCount, compileEveryBodySchema, openApiDocument } from "../support/openapi";
import {
  assertTrafficConforms,
  type RecordedExchange,
  SPEC_FILES,
  UNDOCUMENTED_STATUS_ALLOW_LIST,
  validateRequest,
  validateResponse,
} from "./openapi-contract";

const CONNECTION_ID = "e735894a-e773-4938-969f-45f53957b75b";
const JSON_HEADERS = { "content-type": "application/json" };

function exchange(
  tool: RecordedExchange["tool"],
  operation: string,
  request: Partial<RecordedExchange["request"]> & { method: string; path: string },
  response: RecordedExchange["response"],
): RecordedExchange {
  return {
    tool,
    operation,
    request: { query: {}, headers: {}, body: undefined, ...request },
    response,
    scripted: false,
  };
}

function ok(body: unknown, status = 200): RecordedExchange["response"] {
  return { status, headers: JSON_HEADERS, body };
}

// --- Airbyte -------------------------------------------------------------------------------

const airbyteAuth = { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", ...JSON_HEADERS };

const airbyteJob = {
  jobId: 1234,
  status: "running",
  jobType: "sync",
  startTime: "2026-08-12T09:00:00Z",
  connectionId: CONNECTION_ID,
  lastUpdatedAt: "2026-08-12T09:00:05Z",
  duration: "PT5S",
  bytesSynced: 0,
  rowsSynced: 0,
};

function createJob(body: unknown, response: RecordedExchange["response"] = ok(airbyteJob)): RecordedExchange {
  return exchange(
    "airbyte",
    "createJob",
    { method: "POST", path: "/jobs", headers: airbyteAuth, body },
    response,
  );
}

// --- dbt Cloud -----------------------------------------------------------------------------

const dbtAuth = { authorization: "Token dbtc_0123456789abcdef", accept: "application/json", ...JSON_HEADERS };
const TRIGGER_PATH = "/api/v2/accounts/1/jobs/4/run/";

const dbtStatus = { code: 200, is_success: true, user_message: "Success!", developer_message: "" };

/** A run as dbt Cloud answers a trigger: queued, so nothing about its execution yet. */
const dbtQueuedRun = {
  id: 70403103936,
  trigger_id: 70403146213,
  account_id: 1,
  environment_id: 3,
  project_id: 2,
  job_definition_id: 4,
  job_id: 4,
  status: 1,
  status_humanized: "Queued",
  dbt_version: "versionless",
  git_branch: "main",
  created_at: "2026-08-12 09:00:01.234567+00:00",
  updated_at: "2026-08-12 09:00:01.267890+00:00",
  should_start_at: "2026-08-12 09:00:01.234567+00:00",
  in_progress: true,
  is_complete: false,
  is_success: false,
  is_error: false,
  is_cancelled: false,
  is_running: false,
  has_docs_generated: false,
  has_sources_generated: false,
  notifications_sent: false,
  blocked_by: [],
  artifacts_saved: false,
  used_repo_cache: false,
  can_retry: false,
  href: "https://cloud.getdbt.com/deploy/1/projects/2/runs/70403103936/",
  duration: "00:00:00",
  queued_duration: "00:00:00",
  run_duration: "00:00:00",
  duration_humanized: "0 minutes",
  queued_duration_humanized: "0 minutes",
  run_duration_humanized: "0 minutes",
  created_at_humanized: "0 minutes ago",
  finished_at_humanized: "0 minutes from now",
  trigger: {
    id: 70403146213,
    cause: "Tapestry pipeline users-to-mailchimp",
    job_definition_id: 4,
    git_branch: "main",
    cause_category: "api",
    created_at: "2026-08-12 09:00:01.200000+00:00",
  },
  run_steps: [],
};

/** The same run, finished. */
const dbtSucceededRun = {
  ...dbtQueuedRun,
  status: 10,
  status_humanized: "Success",
  git_sha: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
  updated_at: "2026-08-12 09:04:12.345678+00:00",
  dequeued_at: "2026-08-12 09:00:13.000000+00:00",
  started_at: "2026-08-12 09:00:15.000000+00:00",
  finished_at: "2026-08-12 09:04:12.000000+00:00",
  last_heartbeat_at: "2026-08-12 09:04:10.000000+00:00",
  last_checked_at: "2026-08-12 09:04:12.100000+00:00",
  executed_by_thread_id: "dbt-run-70403103936-qwert",
  owner_thread_id: "scheduler-7f9c",
  artifact_s3_path: "prod-us-c1/runs/70403103936/artifacts/target",
  artifacts_saved: true,
  in_progress: false,
  is_complete: true,
  is_success: true,
  notifications_sent: true,
  duration: "00:04:11",
  queued_duration: "00:00:12",
  run_duration: "00:03:57",
  duration_humanized: "4 minutes, 11 seconds",
  queued_duration_humanized: "12 seconds",
  run_duration_humanized: "3 minutes, 57 seconds",
};

function triggerRun(body: unknown, response: RecordedExchange["response"]): RecordedExchange {
  return exchange(
    "dbt-cloud",
    "triggerRun",
    { method: "POST", path: TRIGGER_PATH, headers: dbtAuth, body },
    response,
  );
}

// --- Grouparoo -----------------------------------------------------------------------------

const grouparooAuth = { authorization: "Bearer grouparoo-api-key-0123", ...JSON_HEADERS };

const grouparooRun = {
  id: "run_2a1f3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  creatorId: "users_table_schedule",
  creatorName: "Users table",
  creatorType: "schedule",
  state: "complete",
  percentComplete: 100,
  importsCreated: 1200,
  recordsCreated: 30,
  recordsImported: 1200,
  error: null,
  highWaterMark: { updated_at: "2026-08-12T08:59:00.000Z" },
  sourceOffset: "0",
  memberLimit: 0,
  memberOffset: 0,
  method: null,
  destinationId: null,
  createdAt: 1786525200000,
  updatedAt: 1786525500000,
  completedAt: "2026-08-12T09:05:00.000Z",
};

function getGrouparooRun(body: unknown): RecordedExchange {
  return exchange(
    "grouparoo",
    "getRun",
    { method: "GET", path: `/api/v1/run/${grouparooRun.id}`, headers: grouparooAuth },
    ok(body),
  );
}

// ---------------------------------------------------------------------------------------------

describe("the specs", () => {
  it.each(Object.values(SPEC_FILES).flat())("%s: every request and response body schema compiles", (file) => {
    expect(compileEveryBodySchema(openApiDocument(file))).toEqual([]);
  });
});

describe("valid traffic passes", () => {
  it("Airbyte createJob request and JobResponse answer", () => {
    const ex = createJob({ connectionId: CONNECTION_ID, jobType: "sync" });
    expect(validateRequest(ex)).toEqual([]);
    expect(validateResponse(ex)).toEqual([]);
  });

  it("Airbyte getJob, listJobs and the anonymous token call", () => {
    const get = exchange(
      "airbyte",
      "getJob",
      { method: "GET", path: "/jobs/1234", headers: airbyteAuth },
      ok(airbyteJob),
    );
    const list = exchange(
      "airbyte",
      "listJobs",
      {
        method: "GET",
        path: "/jobs",
        headers: airbyteAuth,
        query: { connectionId: CONNECTION_ID, jobType: "sync", limit: "5", orderBy: "updatedAt|DESC" },
      },
      ok({ data: [airbyteJob], next: "https://api.airbyte.com/v1/jobs?limit=5&offset=5" }),
    );
    const token = exchange(
      "airbyte",
      "createAccessToken",
      {
        method: "POST",
        path: "/applications/token",
        headers: JSON_HEADERS, // no Authorization: the spec marks this call `security: []`
        body: { client_id: "client", client_secret: "secret", grant_type: "client_credentials" },
      },
      ok({ access_token: "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", token_type: "Bearer", expires_in: 180 }),
    );
    for (const ex of [get, list, token]) {
      expect(validateRequest(ex), ex.operation).toEqual([]);
      expect(validateResponse(ex), ex.operation).toEqual([]);
    }
  });

  it("dbt Cloud trigger with a cause, answered with RunResponseEnveloped", () => {
    const ex = triggerRun(
      { cause: "Tapestry pipeline users-to-mailchimp", git_branch: "main" },
      ok({ status: dbtStatus, data: dbtQueuedRun }),
    );
    expect(validateRequest(ex)).toEqual([]);
    expect(validateResponse(ex)).toEqual([]);
  });

  it("dbt Cloud list runs and get run answers", () => {
    const list = exchange(
      "dbt-cloud",
      "listRuns",
      {
        method: "GET",
        path: "/api/v2/accounts/1/runs/",
        headers: dbtAuth,
        query: { job_definition_id: "4", order_by: "-id", limit: "1", status__in: ["1", "2", "3"] },
      },
      ok({
        status: dbtStatus,
        data: [dbtSucceededRun],
        extra: {
          filters: { account_id: 1, job_definition_id: 4, limit: 1, offset: 0 },
          order_by: "-id",
          pagination: { count: 1, total_count: 17 },
        },
      }),
    );
    const get = exchange(
      "dbt-cloud",
      "getRun",
      { method: "GET", path: "/api/v2/accounts/1/runs/70403103936/", headers: dbtAuth },
      ok({ status: dbtStatus, data: dbtSucceededRun }),
    );
    for (const ex of [list, get]) {
      expect(validateRequest(ex), ex.operation).toEqual([]);
      expect(validateResponse(ex), ex.operation).toEqual([]);
    }
  });

  it("dbt Cloud accepts Bearer as well as Token (its spec's prose says both work)", () => {
    const ex = triggerRun({ cause: "x" }, ok({ status: dbtStatus, data: dbtQueuedRun }));
    ex.request.headers = { ...JSON_HEADERS, authorization: "Bearer dbtc_0123456789abcdef" };
    expect(validateRequest(ex)).toEqual([]);
  });

  it("Grouparoo run answers (read, run schedule, stop, list)", () => {
    const timeline = [{ lastBoundary: 1786525100000, nextBoundary: 1786525112000, steps: { associate: 3 } }];
    const read = getGrouparooRun({ run: grouparooRun, quantizedTimeline: timeline });
    const running = { ...grouparooRun, state: "running", percentComplete: 0, completedAt: null };
    const runSchedule = exchange(
      "grouparoo",
      "runSchedule",
      { method: "POST", path: "/api/v1/schedule/users_table_schedule/run", headers: grouparooAuth },
      ok({ run: running }),
    );
    const stop = exchange(
      "grouparoo",
      "stopRun",
      {
        method: "PUT",
        path: `/api/v1/run/${grouparooRun.id}`,
        headers: grouparooAuth,
        body: { state: "stopped" },
      },
      ok({ run: { ...running, state: "stopped", completedAt: 1786525300000 } }),
    );
    const list = exchange(
      "grouparoo",
      "listRuns",
      {
        method: "GET",
        path: "/api/v1/runs",
        headers: grouparooAuth,
        query: { id: "users_table_schedule", limit: "1", hasError: "false" },
      },
      ok({ runs: [grouparooRun], total: 42 }),
    );
    for (const ex of [read, runSchedule, stop, list]) {
      expect(validateRequest(ex), ex.operation).toEqual([]);
      expect(validateResponse(ex), ex.operation).toEqual([]);
    }
  });

  it("an allow-listed undocumented status with a JSON object body, and a dropped connection", () => {
    const conflict = createJob(
      { connectionId: CONNECTION_ID, jobType: "sync" },
      ok({ type: "https://reference.airbyte.com/reference/errors", title: "conflict", status: 409 }, 409),
    );
    expect(validateResponse(conflict)).toEqual([]);
    const unavailable = createJob(
      { connectionId: CONNECTION_ID, jobType: "sync" },
      { status: 503, headers: {}, body: "" },
    );
    expect(validateResponse(unavailable)).toEqual([]);
    const dropped = createJob({ connectionId: CONNECTION_ID, jobType: "sync" }, null);
    expect(validateResponse(dropped)).toEqual([]);
    expect(validateRequest(dropped)).toEqual([]);
  });

  it("a documented status without a documented body accepts any body", () => {
    const forbidden = createJob(
      { connectionId: CONNECTION_ID, jobType: "sync" },
      ok({ message: "Not allowed" }, 403),
    );
    expect(validateResponse(forbidden)).toEqual([]);
  });

  it("every allow-list entry has a reason", () => {
    for (const entry of UNDOCUMENTED_STATUS_ALLOW_LIST) expect(entry.reason.length).toBeGreaterThan(10);
  });
});

describe("the check bites", () => {
  it("rejects an Airbyte createJob with an unknown jobType", () => {
    const problems = validateRequest(createJob({ connectionId: CONNECTION_ID, jobType: "refresh-all" }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("/jobType");
    expect(problems[0]).toContain('"refresh-all"');
    expect(problems[0]).toContain('"sync", "reset", "refresh", "clear"');
  });

  it("rejects an Airbyte createJob without connectionId", () => {
    const problems = validateRequest(createJob({ jobType: "sync" }));
    expect(problems).toEqual(["request body: must have required property 'connectionId'"]);
  });

  it("rejects an Airbyte connectionId that is not a UUID (format UUID is checked as uuid)", () => {
    const problems = validateRequest(createJob({ connectionId: "conn-1", jobType: "sync" }));
    expect(problems).toEqual(['request body /connectionId: must match format "UUID", got "conn-1"']);
  });

  it("rejects a dbt Cloud trigger without a cause", () => {
    const ex = triggerRun({ git_branch: "main" }, ok({ status: dbtStatus, data: dbtQueuedRun }));
    expect(validateRequest(ex)).toEqual(["request body: must have required property 'cause'"]);
  });

  it("rejects a dbt Cloud trigger with no body at all", () => {
    const ex = triggerRun(undefined, ok({ status: dbtStatus, data: dbtQueuedRun }));
    expect(validateRequest(ex)).toEqual(["request body: missing; Trigger Job Run requires one"]);
  });

  it("rejects a dbt Cloud run answer missing a required field", () => {
    const { updated_at: _dropped, ...run } = dbtQueuedRun;
    const ex = triggerRun({ cause: "x" }, ok({ status: dbtStatus, data: run }));
    expect(validateResponse(ex)).toEqual(["response body /data: must have required property 'updated_at'"]);
  });

  it("rejects a dbt Cloud run answer whose timestamps are not date-times", () => {
    const ex = triggerRun(
      { cause: "x" },
      ok({ status: dbtStatus, data: { ...dbtQueuedRun, created_at: "yesterday" } }),
    );
    expect(validateResponse(ex)).toEqual([
      'response body /data/created_at: must match format "date-time", got "yesterday"',
    ]);
  });

  it("rejects an Airbyte JobResponse whose status is not in the enum", () => {
    const ex = createJob(
      { connectionId: CONNECTION_ID, jobType: "sync" },
      ok({ ...airbyteJob, status: "paused" }),
    );
    const problems = validateResponse(ex);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^response body \/status: must be equal to one of the allowed values .*got "paused"$/,
    );
  });

  it("rejects an unknown path, in requests and responses", () => {
    const ex = exchange(
      "airbyte",
      "createJob",
      { method: "POST", path: "/jobz", headers: airbyteAuth },
      ok({}),
    );
    for (const problems of [validateRequest(ex), validateResponse(ex)]) {
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain("unknown path");
      expect(problems[0]).toContain("POST /jobz");
    }
  });

  it("hints at a missing trailing slash on dbt Cloud paths", () => {
    const ex = exchange(
      "dbt-cloud",
      "getRun",
      { method: "GET", path: "/api/v2/accounts/1/runs/5", headers: dbtAuth },
      null,
    );
    const [problem] = validateRequest(ex);
    expect(problem).toContain("unknown path");
    expect(problem).toContain("/api/v2/accounts/{account_id}/runs/{id}/");
  });

  it("rejects a method the path does not define", () => {
    const ex = exchange(
      "airbyte",
      "patchJob",
      { method: "PATCH", path: "/jobs/1", headers: airbyteAuth },
      null,
    );
    const [problem] = validateRequest(ex);
    expect(problem).toContain("method not in spec");
    expect(problem).toContain("GET, DELETE");
  });

  it("rejects a wrong or missing auth header, without printing the secret", () => {
    const wrongScheme = createJob({ connectionId: CONNECTION_ID, jobType: "sync" });
    wrongScheme.request.headers = { ...JSON_HEADERS, authorization: "Token s3cret-token" };
    const problems = validateRequest(wrongScheme);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('"Authorization: Bearer <token>"');
    expect(problems[0]).toContain("Token <redacted>");
    expect(problems[0]).not.toContain("s3cret");

    const dbtMissing = triggerRun({ cause: "x" }, null);
    dbtMissing.request.headers = JSON_HEADERS;
    expect(validateRequest(dbtMissing)).toEqual([
      'auth: Trigger Job Run requires "Authorization: Token <token>" (BearerAuthentication); got no Authorization header',
    ]);

    const grouparooBasic = getGrouparooRun({ run: grouparooRun, quantizedTimeline: [] });
    grouparooBasic.request.headers = { authorization: "Basic dXNlcjpwYXNz" };
    expect(validateRequest(grouparooBasic)[0]).toContain("auth: getRun requires");
  });

  it("rejects bad path and query parameters, and undocumented query parameters", () => {
    const badId = exchange(
      "airbyte",
      "getJob",
      { method: "GET", path: "/jobs/abc", headers: airbyteAuth },
      null,
    );
    expect(validateRequest(badId)).toEqual(['path parameter jobId: must be integer, got "abc"']);
    const badQuery = exchange(
      "airbyte",
      "listJobs",
      {
        method: "GET",
        path: "/jobs",
        headers: airbyteAuth,
        query: { limit: "500", connection: CONNECTION_ID },
      },
      null,
    );
    expect(validateRequest(badQuery)).toEqual([
      "query parameter connection is not documented for listJobs",
      "query parameter limit: must be <= 100, got 500",
    ]);
    const badRunId = exchange(
      "grouparoo",
      "getRun",
      { method: "GET", path: "/api/v1/run/abc", headers: grouparooAuth },
      null,
    );
    expect(validateRequest(badRunId)).toEqual(['path parameter id: must match pattern "^run_", got "abc"']);
  });

  it("rejects a body with the wrong content type or on an operation that takes none", () => {
    const text = createJob({ connectionId: CONNECTION_ID, jobType: "sync" });
    text.request.headers = { ...text.request.headers, "content-type": "text/plain;charset=UTF-8" };
    expect(validateRequest(text)[0]).toContain("Content-Type text/plain is not accepted by createJob");
    const runWithBody = exchange(
      "grouparoo",
      "runSchedule",
      { method: "POST", path: "/api/v1/schedule/s/run", headers: grouparooAuth, body: { force: true } },
      null,
    );
    expect(validateRequest(runWithBody)).toEqual(["request body: sent, but runSchedule takes no body"]);
  });

  it("rejects a Grouparoo run with a state outside draft|running|complete|stopped or a bad id", () => {
    const problems = validateResponse(
      getGrouparooRun({ run: { ...grouparooRun, id: "abc", state: "failed" }, quantizedTimeline: [] }),
    );
    expect(problems).toContain('response body /run/id: must match pattern "^run_", got "abc"');
    expect(problems.some((p) => p.startsWith("response body /run/state:") && p.includes('"failed"'))).toBe(
      true,
    );
  });

  it("rejects an undocumented status that is not allow-listed, or allow-listed with a non-object body", () => {
    const teapot = createJob({ connectionId: CONNECTION_ID, jobType: "sync" }, ok({}, 418));
    expect(validateResponse(teapot)[0]).toContain(
      "status 418 is not documented for createJob (documented: 200, 400, 403)",
    );
    // 409 is allow-listed for createJob only.
    const conflictOnGet = exchange(
      "airbyte",
      "getJob",
      { method: "GET", path: "/jobs/1", headers: airbyteAuth },
      ok({}, 409),
    );
    expect(validateResponse(conflictOnGet)[0]).toContain("status 409 is not documented for getJob");
    const html = createJob(
      { connectionId: CONNECTION_ID, jobType: "sync" },
      { status: 502, headers: { "content-type": "text/html" }, body: "<html>Bad gateway</html>" },
    );
    expect(validateResponse(html)[0]).toContain("must then carry a JSON object or nothing");
    const array = createJob({ connectionId: CONNECTION_ID, jobType: "sync" }, ok([], 429));
    expect(validateResponse(array)[0]).toContain("must then carry a JSON object or nothing");
  });

  it("rejects an empty body where the spec documents one", () => {
    const ex = createJob(
      { connectionId: CONNECTION_ID, jobType: "sync" },
      { status: 200, headers: {}, body: undefined },
    );
    expect(validateResponse(ex)).toEqual([
      "response body: empty, but createJob documents a application/json body for 200",
    ]);
  });
});

describe("assertTrafficConforms", () => {
  it("passes quietly on conforming traffic", () => {
    expect(() =>
      assertTrafficConforms([
        createJob({ connectionId: CONNECTION_ID, jobType: "sync" }),
        triggerRun({ cause: "x" }, ok({ status: dbtStatus, data: dbtQueuedRun })),
      ]),
    ).not.toThrow();
  });

  it("throws one error listing every problem with operation, method, path and status", () => {
    const dropped = { ...triggerRun({}, null), scripted: true };
    const traffic = [
      createJob({ connectionId: CONNECTION_ID, jobType: "sync" }),
      createJob(
        { connectionId: CONNECTION_ID, jobType: "refresh-all" },
        ok({ ...airbyteJob, status: "paused" }),
      ),
      dropped,
    ];
    let message = "";
    try {
      assertTrafficConforms(traffic);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("3 problem(s) in 2 of 3 exchange(s)");
    expect(message).toContain("#1 airbyte createJob: POST /jobs -> 200");
    expect(message).toContain("request body /jobType: must be equal to one of the allowed values");
    expect(message).toContain("response body /status:");
    expect(message).toContain(
      `#2 dbt-cloud triggerRun: POST ${TRIGGER_PATH} -> no response (connection dropped) (scripted)`,
    );
    expect(message).toContain("must have required property 'cause'");
    expect(message).not.toContain("#0 ");
  });

  // its speed is the benchmarks' business; what makes it fast is that nothing is compiled twice
  it("compiles each schema once, however many exchanges it checks", () => {
    const traffic: RecordedExchange[] = [];
    for (let i = 0; i < 50; i++) {
      traffic.push(
        createJob({ connectionId: CONNECTION_ID, jobType: "sync" }),
        exchange(
          "airbyte",
          "getJob",
          { method: "GET", path: `/jobs/${i}`, headers: airbyteAuth },
          ok(airbyteJob),
        ),
        triggerRun({ cause: `run ${i}` }, ok({ status: dbtStatus, data: dbtSucceededRun })),
        getGrouparooRun({ run: grouparooRun, quantizedTimeline: [] }),
      );
    }
    assertTrafficConforms(traffic.slice(0, 4)); // first use: compiles what these four need
    const compiled = compiledSchemaCount();
    expect(compiled).toBeGreaterThan(0);
    assertTrafficConforms(traffic);
    expect(compiledSchemaCount()).toBe(compiled);
  });
});
