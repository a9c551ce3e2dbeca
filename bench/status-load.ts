import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PipelineSpec, parseConfig, type TapestryConfig } from "@tapestry/core/config";
import type { RunLedger } from "@tapestry/core/ledger";
import { silentLogger } from "@tapestry/core/logging";
import { nextFireTime } from "@tapestry/core/schedule";
import { withStatusReadCache } from "@tapestry/core/status";
import autocannon from "autocannon";
import { createStatusApiHandler } from "../functions/api/status-api";
import { startApiServer } from "../packages/local/src/api-server";
import { SqliteAlertStore, SqliteRunLedger } from "../packages/local/src/ledger";
import kickstart from "../tapestry.config";
import { scheduledRun } from "../test/api/run-events";

/**
 * The embedded status API under load, loopback only: `GET /status` and `GET /runs/{id}` at 50
 * connections, beside a bare node:http server answering a fixed JSON document (the /status answer's
 * own bytes) in the same run. The API is composed as `tapestry local` composes it (the SQLite ledger
 * in a file behind the status read cache, the status API handler behind the embedded API server), with PIPELINES pipelines of
 * RUNS_PER_PIPELINE runs each. autocannon runs in a worker thread, so the load generator does not
 * share the servers' event loop. Prints figures only; nothing here asserts a threshold.
 */

const CONNECTIONS = 50;
const DURATION_SECONDS = 10;
const WARMUP_SECONDS = 2;
const PIPELINES = 8;
const RUNS_PER_PIPELINE = 30;
const NOW = new Date("2026-03-02T12:00:00.000Z");

interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
}

export async function benchStatusLoad(): Promise<string[]> {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-bench-status-"));
  const ledger = withStatusReadCache(SqliteRunLedger.open(join(stateDir, "ledger.sqlite")));
  const config = benchConfig();
  const runIds = await seedRuns(ledger, config);
  const alerts = SqliteAlertStore.open(":memory:"); // /alerts only: neither route measured here reads it
  const api = await startApiServer({
    port: 0,
    handler: createStatusApiHandler({
      config,
      ledger,
      alerts,
      now: () => NOW,
      nextFireTime: (pipeline, after) => nextFireTime(pipeline.schedule, after),
      controlPlane: () => ({ deadLetters: 0 }),
      runs: { start: async () => {}, stop: async () => {} },
      bus: { publish: async () => {} },
      logger: silentLogger,
    }),
  });
  const statusBody = await (await fetch(`${api.url}/status`)).text();
  const bare = await startBareServer(statusBody);
  const runPath = `/runs/${encodeURIComponent(runIds[0] ?? "")}`;
  try {
    const lines = [
      `status API under load: ${config.pipelines.length} pipelines x ${RUNS_PER_PIPELINE} runs in the SQLite ledger, ${CONNECTIONS} connections, ${DURATION_SECONDS} s each after a ${WARMUP_SECONDS} s warm-up, autocannon ${autocannonVersion()} in a worker thread; /status answer ${statusBody.length} bytes`,
    ];
    const bareResult = await load(`${bare.url}/status`);
    lines.push(line("bare node:http, fixed JSON", bareResult));
    for (const [label, path] of [
      ["GET /status", "/status"],
      ["GET /runs/{id}", runPath],
    ] as const) {
      const result = await load(`${api.url}${path}`);
      lines.push(
        `${line(label, result)}; ${(result.requestsPerSecond / bareResult.requestsPerSecond).toFixed(2)}x the bare server's throughput (bare/API ${(bareResult.requestsPerSecond / result.requestsPerSecond).toFixed(2)})`,
      );
    }
    return lines;
  } finally {
    await api.close();
    await new Promise<void>((resolve) => bare.server.close(() => resolve()));
    ledger.close();
    alerts.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function line(label: string, result: LoadResult): string {
  const failures = result.non2xx + result.errors;
  return `${label}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms${failures > 0 ? `, ${result.non2xx} non-2xx and ${result.errors} errors` : ""}`;
}

/** The kickstart pipeline and PIPELINES - 1 like it, each with its own history. */
function benchConfig(): TapestryConfig {
  const base = parseConfig(structuredClone(kickstart));
  const first = base.pipelines[0] as PipelineSpec;
  const pipelines = Array.from({ length: PIPELINES }, (_, i) =>
    i === 0 ? first : { ...first, name: `${first.name}-${i + 1}` },
  );
  return parseConfig({ ...base, pipelines });
}

/** RUNS_PER_PIPELINE daily runs per pipeline (every fifth one failed), newest first per pipeline. */
async function seedRuns(ledger: RunLedger, config: TapestryConfig): Promise<string[]> {
  const newest: string[] = [];
  for (const pipeline of config.pipelines) {
    for (let day = RUNS_PER_PIPELINE; day >= 1; day--) {
      const start = new Date(NOW.getTime() - day * 86_400_000);
      const run = scheduledRun(pipeline, start, day % 5 === 0 ? "failed" : "succeeded");
      for (const event of run.events) await ledger.record(event);
      if (day === 1) newest.push(run.runId);
    }
  }
  return newest;
}

async function startBareServer(body: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function load(url: string): Promise<LoadResult> {
  await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_SECONDS, workers: 1 });
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_SECONDS, workers: 1 });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

function autocannonVersion(): string {
  return (createRequire(import.meta.url)("autocannon/package.json") as { version: string }).version;
}
