import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type JobRunContext, type SandboxSet, startSandboxes } from "../../../packages/local/src/sandboxes";
import {
  createWarehouseRunners,
  kickstartBindings,
  Warehouse,
  type WarehouseRow,
} from "../../../packages/local/src/warehouse";
import { KICKSTART_CONNECTION_IDS } from "../../support/kickstart-connections";
import { call, trace } from "../sandboxes/helpers";
import {
  DBT_ACCOUNT,
  DBT_JOB,
  expectedWinners,
  REPO_ROOT,
  readCsv,
  SALESFORCE_CONNECTION,
  SALESFORCE_CSV,
  SCHEDULE,
  ZOOM_CONNECTION,
  ZOOM_CSV,
} from "./kickstart-data";

const TIMINGS = {
  airbyte: { defaults: { queuedMs: 10, durationMs: 50 } },
  "dbt-cloud": { defaults: { queuedMs: 10, startingMs: 10, durationMs: 50 } },
  grouparoo: { defaults: { queuedMs: 10, durationMs: 50 } },
};

let tmp: string;
let warehouse: Warehouse;
let sandboxes: SandboxSet | undefined;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tapestry-runners-"));
  warehouse = new Warehouse(join(tmp, "warehouse", "tapestry.duckdb"));
});
afterEach(async () => {
  await sandboxes?.close();
  sandboxes = undefined;
  await warehouse.close();
  await rm(tmp, { recursive: true, force: true });
});

interface AirbyteJob {
  jobId: number;
  status: string;
  rowsSynced?: number;
  bytesSynced?: number;
}
interface DbtRun {
  id: number;
  status: number;
  is_complete: boolean;
  status_message?: string;
}
interface GrouparooRun {
  id: string;
  state: string;
  recordsImported: number;
  error: string | null;
}

async function start(scenario: object = TIMINGS, bindings?: Awaited<ReturnType<typeof kickstartBindings>>) {
  const runners = createWarehouseRunners({
    warehouse,
    bindings: bindings ?? (await kickstartBindings(REPO_ROOT, { connectionIds: KICKSTART_CONNECTION_IDS })),
    exportDir: join(tmp, "exports"),
  });
  sandboxes = await startSandboxes(scenario, { runner: runners });
  return sandboxes;
}

async function sync(set: Pick<SandboxSet, "airbyte">, connectionId: string): Promise<AirbyteJob> {
  const created = await call<AirbyteJob>(`${set.airbyte.baseUrl}/jobs`, {
    method: "POST",
    body: { connectionId, jobType: "sync" },
  });
  expect(created.status).toBe(200);
  const seen = await trace(
    async () => (await call<AirbyteJob>(`${set.airbyte.baseUrl}/jobs/${created.body.jobId}`)).body,
    (job) => ["succeeded", "failed", "cancelled"].includes(job.status),
  );
  return seen[seen.length - 1] as AirbyteJob;
}

async function dbtRun(set: SandboxSet, jobId = DBT_JOB): Promise<DbtRun> {
  const accounts = `${set.dbtCloud.baseUrl}/api/v2/accounts/${DBT_ACCOUNT}`;
  const created = await call<{ data: DbtRun }>(`${accounts}/jobs/${jobId}/run/`, {
    method: "POST",
    body: { cause: "Triggered by the warehouse test" },
  });
  expect(created.status).toBe(200);
  const seen = await trace(
    async () => (await call<{ data: DbtRun }>(`${accounts}/runs/${created.body.data.id}/`)).body.data,
    (run) => run.is_complete,
  );
  return seen[seen.length - 1] as DbtRun;
}

async function grouparooRun(set: SandboxSet, scheduleId = SCHEDULE): Promise<GrouparooRun> {
  const created = await call<{ run: GrouparooRun }>(
    `${set.grouparoo.baseUrl}/api/v1/schedule/${scheduleId}/run`,
    { method: "POST" },
  );
  expect(created.status).toBe(200);
  const seen = await trace(
    async () =>
      (await call<{ run: GrouparooRun }>(`${set.grouparoo.baseUrl}/api/v1/run/${created.body.run.id}`)).body
        .run,
    (run) => run.state === "complete" || run.state === "stopped",
  );
  return seen[seen.length - 1] as GrouparooRun;
}

describe("warehouse runners through the sandboxes", () => {
  it("moves the kickstart rows: two syncs, the dbt run, the Grouparoo export", async () => {
    const set = await start();
    const [zoom, salesforce] = await Promise.all([
      sync(set, ZOOM_CONNECTION),
      sync(set, SALESFORCE_CONNECTION),
    ]);
    expect(zoom).toMatchObject({
      status: "succeeded",
      rowsSynced: readCsv(ZOOM_CSV).length,
      bytesSynced: (await stat(ZOOM_CSV)).size,
    });
    expect(salesforce).toMatchObject({
      status: "succeeded",
      rowsSynced: readCsv(SALESFORCE_CSV).length,
      bytesSynced: (await stat(SALESFORCE_CSV)).size,
    });

    const run = await dbtRun(set);
    expect(run.status).toBe(10);
    // dbt Cloud's API reports no row counts: the model's rows are in the warehouse
    const audienceSize = expectedWinners().size;
    expect(await warehouse.countRows("analytics.email_model")).toBe(audienceSize);

    const exported = await grouparooRun(set);
    expect(exported).toMatchObject({ state: "complete", error: null, recordsImported: audienceSize });

    const audience = JSON.parse(
      await readFile(join(tmp, "exports", "mailchimp-audience.json"), "utf8"),
    ) as WarehouseRow[];
    expect(audience).toHaveLength(audienceSize);
    const emails = audience.map((member) => String(member.email));
    expect(emails).toEqual([...expectedWinners().keys()].sort());
    expect(audience.find((member) => member.email === "susie.quinn@example.com")).toMatchObject({
      first_name: "Susan",
      last_name: "Quinn",
      sources: "salesforce,zoom",
    });
  });

  it("fails the dbt run with the warehouse's error when a raw table is missing", async () => {
    const set = await start();
    await sync(set, ZOOM_CONNECTION); // Salesforce never synced
    const run = await dbtRun(set);
    expect(run.status).toBe(20);
    expect(run.status_message).toMatch(/email_model\.sql failed to build analytics\.email_model: .*contacts/);
  });

  it("leaves unbound targets and planned failures to the timed runner, without touching data", async () => {
    const set = await start({
      ...TIMINGS,
      airbyte: {
        defaults: { queuedMs: 10, durationMs: 50, rows: 123, bytes: 4567 },
        outcomes: [{ for: ZOOM_CONNECTION, outcome: "failed", error: "Zoom said no" }],
      },
    });
    const other = await sync(set, "3b0d7d4e-7f57-4a43-a6a9-0e1a4c2b5d77");
    expect(other).toMatchObject({ status: "succeeded", rowsSynced: 123, bytesSynced: 4567 });
    const failed = await sync(set, ZOOM_CONNECTION);
    expect(failed.status).toBe("failed");
    await expect(warehouse.countRows("zoom.webinar_registrants")).rejects.toThrow(/webinar_registrants/);
  });

  it("takes at least the planned duration, and stops when the job is cancelled", async () => {
    const contexts: JobRunContext[] = [];
    const runners = createWarehouseRunners({
      warehouse,
      bindings: await kickstartBindings(REPO_ROOT, { connectionIds: KICKSTART_CONNECTION_IDS }),
      exportDir: join(tmp, "exports"),
    });
    const slowSandboxes = await startSandboxes(
      { airbyte: { defaults: { queuedMs: 10, durationMs: 400 } } },
      {
        tools: ["airbyte"],
        runner: {
          airbyte: (ctx) => {
            contexts.push(ctx);
            return runners.airbyte(ctx);
          },
        },
      },
    );
    try {
      const began = Date.now();
      const created = await call<AirbyteJob>(`${slowSandboxes.airbyte.baseUrl}/jobs`, {
        method: "POST",
        body: { connectionId: SALESFORCE_CONNECTION, jobType: "sync" },
      });
      // the rows show as progress while the job still runs
      const running = await trace(
        async () =>
          (await call<AirbyteJob>(`${slowSandboxes.airbyte.baseUrl}/jobs/${created.body.jobId}`)).body,
        (job) => job.status === "running" && job.rowsSynced === 45,
      );
      expect(running[running.length - 1]?.status).toBe("running");
      const cancelled = await call<AirbyteJob>(
        `${slowSandboxes.airbyte.baseUrl}/jobs/${created.body.jobId}`,
        {
          method: "DELETE",
        },
      );
      expect(cancelled.body.status).toBe("cancelled");
      expect(contexts[0]?.signal.aborted).toBe(true);

      expect(Date.now() - began).toBeLessThan(400);

      const again = Date.now();
      const second = await sync(slowSandboxes, SALESFORCE_CONNECTION);
      expect(second).toMatchObject({ status: "succeeded", rowsSynced: 45 });
      // queued 10 ms, then the work, then the rest of the planned 400 ms
      expect(Date.now() - again).toBeGreaterThanOrEqual(400);
    } finally {
      await slowSandboxes.close();
    }
  });
});
