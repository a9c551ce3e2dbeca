import { runsCharts, statusClass } from "./charts.js";
import { count, duration, externalLink, h, relative, show, time } from "./dom.js";

/**
 * The dashboard: asks the status API's read routes at its own origin (the embedded control
 * plane's server, or `tapestry dashboard`'s proxy to a stage), every 5 s while the tab is
 * visible, and draws what they answer. The selected run is in the URL (`#run=<runId>`).
 */

const REFRESH_MS = 5_000;
const RUNS_PER_PIPELINE = 30;
/** after a 404, /stacks (an older stage has none) is asked again only every this many refreshes */
const STACKS_PROBE_EVERY = 12;
const ENDED = new Set(["succeeded", "failed", "cancelled", "skipped"]);
const TOOLS = { airbyte: "Airbyte", "dbt-cloud": "dbt Cloud", grouparoo: "Grouparoo" };
const HEALTH = {
  healthy: "✔ healthy",
  failing: "✖ failing",
  running: "▶ running",
  "never-run": "– never run",
  paused: "⏸ paused",
};
const RULES = {
  "run-failed": "run failed",
  "run-too-long": "run too long",
  "rows-below-minimum": "rows below minimum",
  stale: "no recent success",
  "rows-anomaly": "rows far below usual",
};

const byId = (id) => document.getElementById(id);
const enc = encodeURIComponent;

const state = {
  /** run details by run id; an ended run's never changes */
  details: new Map(),
  events: new Map(),
  /** "available", "absent" (404) */
  stacks: "available",
  sinceStacksProbe: 0,
  refreshing: false,
  timer: undefined,
  view: undefined,
  refreshes: 0,
};

class ApiError extends Error {
  constructor(path, status, detail) {
    super(`${path}: ${detail}`);
    this.status = status;
  }
}

async function get(path) {
  const response = await fetch(path, { headers: { accept: "application/json" }, cache: "no-store" });
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    throw new ApiError(path, response.status, body?.detail ?? body?.message ?? `HTTP ${response.status}`);
  }
  return body;
}

/** Runs `work` on every item, at most `width` at a time. */
async function inBatches(items, width, work) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

const isEnded = (run) => run !== undefined && ENDED.has(run.status);

async function detailOf(runId) {
  const cached = state.details.get(runId);
  if (isEnded(cached)) return cached;
  const detail = await get(`/runs/${enc(runId)}`);
  state.details.set(runId, detail);
  return detail;
}

async function eventsOf(runId) {
  const cached = state.events.get(runId);
  if (cached?.ended) return cached.events;
  const { events } = await get(`/runs/${enc(runId)}/events`);
  state.events.set(runId, { events, ended: isEnded(state.details.get(runId)) });
  return events;
}

function selectedRunId() {
  const match = /^#run=(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : undefined;
}

async function provisioningAnswer() {
  try {
    return { run: await get("/provisioning") };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { none: true };
    return { error };
  }
}

async function stacksAnswer() {
  if (state.stacks === "absent" && ++state.sinceStacksProbe < STACKS_PROBE_EVERY) return { absent: true };
  state.sinceStacksProbe = 0;
  try {
    const answer = await get("/stacks");
    state.stacks = "available";
    return answer;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      state.stacks = "absent";
      return { absent: true };
    }
    return { error };
  }
}

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    const [overview, alerts] = await Promise.all([
      get("/status"),
      get("/alerts").catch((error) => ({ error })),
    ]);
    const pages = await Promise.all(
      overview.pipelines.map((p) =>
        get(`/pipelines/${enc(p.name)}/runs?limit=${RUNS_PER_PIPELINE}`).catch((error) => ({
          pipeline: p.name,
          runs: [],
          error,
        })),
      ),
    );
    // each run's steps (rows per step, for the chart); an ended run is asked once
    const wanted = pages
      .flatMap((page) => page.runs)
      .filter((run) => run.status !== "skipped" && !isEnded(state.details.get(run.runId)));
    await inBatches(wanted, 6, async (run) => {
      await detailOf(run.runId).catch(() => undefined);
    });
    const [provisioning, stacks] = await Promise.all([provisioningAnswer(), stacksAnswer()]);
    state.view = { overview, alerts, pages, provisioning, stacks, at: Date.now() };
    render();
    await renderRun();
    byId("problem").hidden = true;
    state.refreshes += 1;
    document.body.dataset.refreshes = String(state.refreshes);
  } catch (error) {
    const problem = byId("problem");
    problem.hidden = false;
    problem.textContent = `Could not read the status API (${error instanceof Error ? error.message : String(error)}); trying again in ${REFRESH_MS / 1000} s.`;
  } finally {
    state.refreshing = false;
    showRefreshNote();
  }
}

function showRefreshNote() {
  const note = byId("refresh");
  const updated = state.view ? `Updated ${new Date(state.view.at).toLocaleTimeString()}` : "Not loaded yet";
  note.textContent = document.hidden
    ? `${updated} · paused while this tab is hidden`
    : `${updated} · refreshes every ${REFRESH_MS / 1000} s`;
}

function render() {
  const { overview, alerts, pages, provisioning, stacks } = state.view;
  renderPipelines(overview, alerts, pages);
  renderAlerts(alerts);
  renderHistory(pages);
  renderStacks(stacks);
  renderProvisioning(provisioning);
}

function runLink(runId, text = runId) {
  return h("a", { href: `#run=${enc(runId)}`, class: "run-link", "data-run-id": runId }, text);
}

function statusText(status) {
  const mark = status === "succeeded" ? "✔" : status === "failed" ? "✖" : "•";
  return h("span", { class: `status status-${statusClass(status)}` }, `${mark} ${status}`);
}

function table(caption, headings, rows, className = "") {
  return h(
    "table",
    { class: className },
    caption ? h("caption", {}, caption) : undefined,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headings.map((text) => h("th", { scope: "col" }, text)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

function renderPipelines(overview, alerts, pages) {
  const container = byId("pipelines");
  if (overview.pipelines.length === 0) {
    show(container, h("p", { class: "empty" }, "The config declares no pipelines."));
    return;
  }
  const open = Array.isArray(alerts.open) ? alerts.open : [];
  const rows = overview.pipelines.map((pipeline) => {
    const runs = pages.find((page) => page.pipeline === pipeline.name)?.runs ?? [];
    const lastSuccess = runs.find((run) => run.status === "succeeded");
    const alertsOpen = open.filter((incident) => incident.pipeline === pipeline.name).length;
    const last = pipeline.lastRun;
    return h(
      "tr",
      { "data-pipeline": pipeline.name },
      h("th", { scope: "row" }, pipeline.name),
      h(
        "td",
        {},
        h("span", { class: `health health-${pipeline.health}` }, HEALTH[pipeline.health] ?? pipeline.health),
      ),
      h(
        "td",
        {},
        last
          ? [statusText(last.status), " ", runLink(last.runId, relative(last.endedAt ?? last.startedAt))]
          : "none",
      ),
      h("td", {}, lastSuccess ? relative(lastSuccess.endedAt) : `none in the last ${runs.length} runs`),
      h("td", {}, alertsOpen > 0 ? h("span", { class: "alerting" }, `⚠ ${alertsOpen} open`) : "none"),
      h(
        "td",
        {},
        pipeline.nextScheduledAt
          ? time(pipeline.nextScheduledAt)
          : pipeline.schedule.enabled
            ? "none scheduled"
            : "paused",
        h("br"),
        h("small", {}, `${pipeline.schedule.expression} ${pipeline.schedule.timezone}`),
      ),
    );
  });
  show(
    container,
    table(
      undefined,
      ["Pipeline", "Health", "Last run", "Last success", "Alerts", "Next run"],
      rows,
      "pipelines",
    ),
  );
  const deadLetters = overview.controlPlane?.deadLetters ?? 0;
  if (deadLetters > 0) {
    container.append(
      h(
        "p",
        { class: "warning" },
        `⚠ ${deadLetters} event${deadLetters === 1 ? "" : "s"} could not be recorded: the run records may be missing them.`,
      ),
    );
  }
}

function renderAlerts(alerts) {
  const container = byId("alerts");
  if (alerts.error) {
    show(container, h("p", { class: "warning" }, `The alerts could not be read: ${alerts.error.message}`));
    return;
  }
  if (alerts.open.length === 0) {
    show(container, h("p", { class: "empty" }, "✔ No open alert."));
    return;
  }
  const rows = alerts.open.map((incident) =>
    h(
      "tr",
      {},
      h("td", {}, incident.pipeline),
      h(
        "td",
        {},
        RULES[incident.rule] ?? incident.rule,
        incident.step ? ` (${incident.stage}/${incident.step})` : "",
      ),
      h("td", {}, incident.latest.summary),
      h("td", {}, time(incident.openedAt)),
      h("td", {}, String(incident.breaches)),
      h(
        "td",
        {},
        incident.latest.runId ? runLink(incident.latest.runId) : "–",
        incident.latest.url ? [" ", externalLink(incident.latest.url, "tool page")] : "",
      ),
    ),
  );
  show(
    container,
    table(undefined, ["Pipeline", "Rule", "What", "Open since", "Breaches", "Run"], rows, "alerts"),
  );
}

function chartPoints(runs) {
  return runs
    .filter((run) => run.status !== "skipped")
    .map((run) => {
      const detail = state.details.get(run.runId);
      return {
        runId: run.runId,
        status: run.status,
        at: Date.parse(run.startedAt ?? run.queuedAt ?? run.updatedAt),
        durationMs: run.durationMs,
        rows: run.rows,
        steps: (detail?.steps ?? []).map((step) => ({ key: `${step.stage}/${step.step}`, rows: step.rows })),
      };
    })
    .reverse();
}

function renderHistory(pages) {
  const container = byId("history");
  if (pages.length === 0) {
    show(container, h("p", { class: "empty" }, "No pipelines."));
    return;
  }
  const openTables = new Set([...container.querySelectorAll("details[open]")].map((d) => d.dataset.pipeline));
  show(
    container,
    pages.map((page) => {
      const block = h(
        "article",
        { class: "history", "data-pipeline": page.pipeline },
        h("h3", {}, page.pipeline),
      );
      if (page.error) {
        block.append(h("p", { class: "warning" }, `Its runs could not be read: ${page.error.message}`));
        return block;
      }
      if (page.runs.length === 0) {
        block.append(h("p", { class: "empty" }, "No runs yet."));
        return block;
      }
      block.append(runsCharts(page.pipeline, chartPoints(page.runs)));
      const rows = page.runs.map((run) =>
        h(
          "tr",
          {},
          h("td", {}, runLink(run.runId)),
          h("td", {}, statusText(run.status)),
          h("td", {}, run.trigger?.kind ?? "–"),
          h("td", {}, time(run.startedAt ?? run.queuedAt)),
          h("td", {}, duration(run.durationMs)),
          h("td", { class: "number" }, count(run.rows)),
          h("td", { class: "error-text" }, run.error ?? ""),
        ),
      );
      block.append(
        h(
          "details",
          { "data-pipeline": page.pipeline, open: openTables.has(page.pipeline) },
          h("summary", {}, `The ${page.runs.length} latest runs as a table`),
          table(
            undefined,
            ["Run", "Status", "Trigger", "Started", "Duration", "Rows", "Error"],
            rows,
            "runs",
          ),
        ),
      );
      return block;
    }),
  );
}

/** The run to show: the URL's, else the newest run of the first pipeline. */
function defaultRunId() {
  const runs = state.view?.pages?.[0]?.runs ?? [];
  return runs.find((run) => run.status !== "skipped")?.runId;
}

async function renderRun() {
  const container = byId("run");
  const runId = selectedRunId() ?? defaultRunId();
  if (!runId) {
    show(container, h("p", { class: "empty" }, "No run yet."));
    return;
  }
  let detail;
  let events = [];
  try {
    detail = await detailOf(runId);
    events = await eventsOf(runId).catch(() => []);
  } catch (error) {
    show(container, h("p", { class: "warning" }, `Run ${runId} could not be read: ${error.message}`));
    return;
  }
  show(container, runView(detail, events));
}

function runView(run, events) {
  const facts = [
    ["Pipeline", run.pipeline],
    ["Status", statusText(run.status)],
    ["Trigger", run.trigger?.kind ?? "–"],
    ["Started", time(run.startedAt ?? run.queuedAt)],
    ["Ended", run.endedAt ? time(run.endedAt) : "not yet"],
    ["Duration", duration(run.durationMs)],
    ["Rows", count(run.rows)],
  ];
  if (run.reason) facts.push(["Reason", run.reason]);
  return h(
    "article",
    { class: "run", "data-run-id": run.runId, "data-status": run.status },
    h("h3", {}, run.runId),
    h(
      "dl",
      { class: "facts" },
      facts.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
    ),
    run.error ? h("p", { class: "error run-error" }, h("strong", {}, "Error: "), run.error) : undefined,
    timeline(run),
    h(
      "details",
      { class: "events" },
      h("summary", {}, `Events (${events.length})`),
      h(
        "ol",
        {},
        events.map((event) => {
          const data = event.detail?.data ?? {};
          const step = data.step ? ` ${data.stage}/${data.step}` : "";
          return h("li", {}, time(event.detail?.metadata?.occurredAt), ` ${event["detail-type"]}${step}`);
        }),
      ),
    ),
  );
}

/** Every planned step (started or not) as a row, with its bar between the run's start and end. */
function timeline(run) {
  const started = new Map(run.steps.map((step) => [`${step.stage}/${step.step}`, step]));
  const plan = run.stages
    ? run.stages.flatMap((stage) =>
        stage.steps.map((step) => ({ stage: stage.name, step: step.name, tool: step.tool })),
      )
    : run.steps;
  const from = Date.parse(run.startedAt ?? run.queuedAt);
  const ends = run.steps.map((step) => Date.parse(step.endedAt ?? "")).filter(Number.isFinite);
  const to = Math.max(Date.parse(run.endedAt ?? "") || Date.now(), ...ends, from + 1);
  const rows = plan.map((planned) => {
    const key = `${planned.stage}/${planned.step}`;
    const step = started.get(key);
    const tool = TOOLS[planned.tool] ?? planned.tool;
    return h(
      "tr",
      { "data-step": key, "data-status": step?.status ?? "not-started" },
      h("th", { scope: "row" }, key),
      h("td", {}, tool),
      h(
        "td",
        {},
        step ? statusText(step.status) : h("span", { class: "status status-other" }, "– not started"),
      ),
      h("td", { class: "bar-cell" }, step ? bar(step, from, to) : ""),
      h("td", { class: "number step-rows" }, step ? count(step.rows) : "–"),
      h("td", {}, step ? duration(step.durationMs) : "–"),
      h(
        "td",
        {},
        step?.link
          ? externalLink(step.link, `${tool} job ${step.externalId ?? ""}`.trim())
          : (step?.externalId ?? "–"),
      ),
      h("td", { class: "error-text step-error" }, step?.error ?? ""),
    );
  });
  return table(
    "Steps: when each ran, within the run",
    ["Step", "Tool", "Status", "Timeline", "Rows", "Duration", "Job", "Error"],
    rows,
    "timeline",
  );
}

function bar(step, from, to) {
  const span = Math.max(1, to - from);
  const start = Date.parse(step.startedAt ?? "") || from;
  const end = Date.parse(step.endedAt ?? "") || (step.status === "running" ? Date.now() : start);
  const x = Math.max(0, Math.min(100, ((start - from) / span) * 100));
  const width = Math.max(0.8, Math.min(100 - x, ((end - start) / span) * 100));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 100 10");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "bar");
  svg.setAttribute("role", "img");
  svg.setAttribute(
    "aria-label",
    `${step.status} from ${((start - from) / 1000).toFixed(1)} s to ${((end - from) / 1000).toFixed(1)} s after the run began`,
  );
  const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  rect.setAttribute("x", x.toFixed(2));
  rect.setAttribute("y", "1");
  rect.setAttribute("width", width.toFixed(2));
  rect.setAttribute("height", "8");
  rect.setAttribute("class", `status-${statusClass(step.status)}`);
  svg.append(rect);
  return svg;
}

function renderStacks(stacks) {
  const section = byId("stacks-section");
  if (stacks.absent) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const container = byId("stacks");
  if (stacks.error) {
    show(container, h("p", { class: "warning" }, `The stacks could not be read: ${stacks.error.message}`));
    return;
  }
  if (stacks.stacks.length === 0) {
    show(container, h("p", { class: "empty" }, "No self-hosted tool: nothing is provisioned as a stack."));
    return;
  }
  const rows = stacks.stacks.map((stack) =>
    h(
      "tr",
      { "data-stack": stack.stackName },
      h("td", {}, TOOLS[stack.tool] ?? stack.tool),
      h("td", {}, stack.stackName),
      h("td", {}, stack.status ?? "not deployed"),
      h("td", {}, externalLink(stack.outputs?.Url, stack.outputs?.Url) ?? "–"),
      h("td", {}, stack.httpOnly ? h("span", { class: "warning" }, "⚠ HTTP only (no certificate)") : "HTTPS"),
      h(
        "td",
        {},
        stack.lastDeploy
          ? [
              `${stack.lastDeploy.outcome} `,
              time(stack.lastDeploy.at),
              stack.lastDeploy.reason ? `: ${stack.lastDeploy.reason}` : "",
            ]
          : "never",
      ),
    ),
  );
  show(
    container,
    table(undefined, ["Tool", "Stack", "Status", "URL", "Listener", "Last deploy"], rows, "stacks"),
  );
}

function renderProvisioning(answer) {
  const container = byId("provisioning");
  if (answer.none) {
    show(container, h("p", { class: "empty" }, "No provisioning run yet."));
    return;
  }
  if (answer.error) {
    show(container, h("p", { class: "warning" }, `Provisioning could not be read: ${answer.error.message}`));
    return;
  }
  const runs = Array.isArray(answer.run?.runs) ? answer.run.runs : [answer.run];
  show(container, runs.map(provisioningRun));
}

function provisioningRun(run) {
  const actions = {};
  for (const object of run.objects ?? []) actions[object.action] = (actions[object.action] ?? 0) + 1;
  const summary = Object.entries(actions)
    .map(([action, n]) => `${n} ${action}`)
    .join(", ");
  return h(
    "article",
    { class: "provisioning", "data-run-id": run.runId },
    h(
      "p",
      {},
      h("strong", {}, run.runId),
      " ",
      statusText(run.status),
      ` (${run.trigger}) started `,
      time(run.startedAt),
      run.durationMs !== undefined ? `, took ${duration(run.durationMs)}` : "",
      summary ? `; tool objects: ${summary}` : "",
    ),
    run.failure
      ? h("p", { class: "error" }, h("strong", {}, `${run.failure.step} failed: `), run.failure.error)
      : undefined,
    table(
      undefined,
      ["Step", "Status", "Summary"],
      (run.steps ?? []).map((step) =>
        h(
          "tr",
          {},
          h("td", {}, step.name),
          h("td", {}, h("span", { class: `status status-${statusClass(step.status)}` }, step.status)),
          h("td", {}, step.summary ?? ""),
        ),
      ),
      "provisioning-steps",
    ),
  );
}

function scheduleNext() {
  clearTimeout(state.timer);
  if (document.hidden) return;
  state.timer = setTimeout(async () => {
    await refresh();
    scheduleNext();
  }, REFRESH_MS);
}

document.addEventListener("visibilitychange", () => {
  showRefreshNote();
  if (document.hidden) clearTimeout(state.timer);
  else refresh().then(scheduleNext);
});
window.addEventListener("hashchange", () => {
  renderRun();
});
refresh().then(scheduleNext);
