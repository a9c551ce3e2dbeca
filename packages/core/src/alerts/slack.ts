import type { AlertEvent, AlertRule, EventOf } from "../events";

/**
 * Slack Block Kit messages for alerts: one when an incident opens, one when it is resolved, and
 * one per control-plane alarm change (AWS). Every piece of text is fitted to Block Kit's limits
 * (BLOCK_KIT_LIMITS) as it is built, so a long error or a long name shortens the message rather
 * than making Slack refuse it; `blockKitProblems` states the limits for the tests.
 */

export interface PlainText {
  readonly type: "plain_text";
  readonly text: string;
  readonly emoji?: boolean;
}
export interface Mrkdwn {
  readonly type: "mrkdwn";
  readonly text: string;
}
export type TextObject = PlainText | Mrkdwn;

export interface ButtonElement {
  readonly type: "button";
  readonly text: PlainText;
  readonly url: string;
  readonly action_id: string;
}

export type Block =
  | { readonly type: "header"; readonly text: PlainText }
  | { readonly type: "section"; readonly text?: Mrkdwn; readonly fields?: readonly Mrkdwn[] }
  | { readonly type: "context"; readonly elements: readonly TextObject[] }
  | { readonly type: "actions"; readonly elements: readonly ButtonElement[] }
  | { readonly type: "divider" };

/** What an incoming webhook takes: `text` is the notification's fallback (and screen readers'), `blocks` the message. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Block[];
}

/** Slack's documented limits for messages (Block Kit reference: blocks, section, header, context, actions, button). */
export const BLOCK_KIT_LIMITS = {
  blocksPerMessage: 50,
  /** the top-level text is truncated past 40,000; kept far shorter: it is a notification line */
  messageText: 3000,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextElements: 10,
  /** a context element's text, as a section's */
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonUrl: 3000,
  actionId: 255,
} as const;

/** Escapes what mrkdwn treats as markup (links, mentions): &, < and >. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Cuts text to `max` characters (code points, not halves of an emoji), ending in … when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

const plain = (text: string, max: number): PlainText => ({
  type: "plain_text",
  text: truncate(text, max),
  emoji: true,
});
const md = (text: string, max: number): Mrkdwn => ({ type: "mrkdwn", text: truncate(text, max) });
const field = (label: string, value: string): Mrkdwn =>
  md(`*${label}*\n${escapeMrkdwn(value)}`, BLOCK_KIT_LIMITS.fieldText);

/** A time Slack shows in the reader's own zone, with the ISO text as the fallback. */
function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (Number.isNaN(seconds)) return escapeMrkdwn(iso);
  return `<!date^${seconds}^{date_short_pretty} {time}|${escapeMrkdwn(iso)}>`;
}

/** The headline of each rule, as a person says it. */
export const RULE_TITLES: Readonly<Record<AlertRule, string>> = {
  "run-failed": "Run failed",
  "run-too-long": "Run took too long",
  "rows-below-minimum": "Rows below the minimum",
  stale: "No successful run for too long",
  "rows-anomaly": "Rows far below their history",
};

/** What someone on call does about each rule (docs/operations.md says more). */
export function whatToDo(rule: AlertRule, pipeline: string, runId?: string): string {
  const runs = `GET /pipelines/${pipeline}/runs`;
  const rerun = `POST /pipelines/${pipeline}/runs`;
  switch (rule) {
    case "run-failed":
      return `Open the failed job in its tool for the log, fix the cause (a refused credential: \`tapestry secrets set <NAME>\`; a model error: fix the model), then run it again: \`${rerun}\`. The next successful run resolves this.`;
    case "run-too-long":
      return `See which step took the time (${runId ? `\`GET /runs/${runId}\`` : `\`${runs}\``}: each step's duration) and whether its tool queued the job. If runs have grown for good, raise \`maxDurationMinutes\`. The next run within the limit resolves this.`;
    case "rows-below-minimum":
      return "Check the step's source in its tool (credentials, filters, an empty export); the step failed so later stages did not run on too little data. If the volume changed for good, lower `minRows`. The next run that moves enough rows resolves this.";
    case "stale":
      return `Check the schedule (\`GET /status\`: enabled, next run), the schedule dead-letter queue and the last runs (\`${runs}\`); run it now with \`${rerun}\`. A successful run resolves this.`;
    case "rows-anomaly":
      return `Compare with the step's recent runs (\`${runs}\`): an upstream change, a partial sync or a new filter may have dropped rows. The next run back within the band resolves this.`;
  }
}

function figureText(unit: "runs" | "minutes" | "rows", n: number): string {
  const value = n.toLocaleString("en-US");
  if (unit === "minutes") return `${value} min`;
  return `${value} ${unit === "rows" ? (n === 1 ? "row" : "rows") : n === 1 ? "failed run" : "failed runs"}`;
}

function thresholdText(rule: AlertRule, unit: "runs" | "minutes" | "rows", threshold: number): string {
  switch (rule) {
    case "run-failed":
      return "any failed run";
    case "run-too-long":
      return `at most ${figureText(unit, threshold)}`;
    case "rows-below-minimum":
      return `at least ${figureText(unit, threshold)}`;
    case "stale":
      return `a success within ${figureText(unit, threshold)}`;
    case "rows-anomaly":
      return `at least ${figureText(unit, threshold)} (the band's lower bound)`;
  }
}

/** Where the message's links point: the status API's base URL when known, and the stage's name. */
export interface MessageContext {
  readonly statusApiUrl?: string;
  readonly stage?: string;
}

function runPath(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

function buttons(
  links: readonly { readonly text: string; readonly url: string | undefined; readonly id: string }[],
): Block[] {
  const elements = links
    .filter((link): link is { text: string; url: string; id: string } => isHttpUrl(link.url))
    .filter((link) => link.url.length <= BLOCK_KIT_LIMITS.buttonUrl)
    .map(
      (link): ButtonElement => ({
        type: "button",
        text: plain(link.text, BLOCK_KIT_LIMITS.buttonText),
        url: link.url,
        action_id: link.id,
      }),
    );
  return elements.length > 0 ? [{ type: "actions", elements }] : [];
}

function isHttpUrl(url: string | undefined): boolean {
  if (url === undefined) return false;
  try {
    const { protocol } = new URL(url);
    return protocol === "https:" || protocol === "http:";
  } catch {
    return false;
  }
}

function stepText(data: { readonly stage?: string; readonly step?: string }): string | undefined {
  if (data.step === undefined) return undefined;
  return data.stage === undefined ? data.step : `${data.stage}/${data.step}`;
}

function contextBlock(parts: readonly string[]): Block {
  return {
    type: "context",
    elements: parts
      .slice(0, BLOCK_KIT_LIMITS.contextElements)
      .map((part) => md(part, BLOCK_KIT_LIMITS.contextText)),
  };
}

/** The message of an incident that opened: what happened, the figure against its threshold, the links, what to do. */
export function breachMessage(
  event: EventOf<"ThresholdBreached">,
  context: MessageContext = {},
): SlackMessage {
  const d = event.detail.data;
  const title = `${RULE_TITLES[d.rule]}: ${d.pipeline}`;
  const step = stepText(d);
  const fields = [
    field("Pipeline", d.pipeline),
    ...(step ? [field("Step", step)] : []),
    field("Figure", figureText(d.unit, d.figure)),
    field("Threshold", thresholdText(d.rule, d.unit, d.threshold)),
    ...(d.runId ? [field("Run", d.runId)] : []),
    md(`*Since*\n${slackDate(d.openedAt)}`, BLOCK_KIT_LIMITS.fieldText),
  ];
  const blocks: Block[] = [
    { type: "header", text: plain(`🔴 ${title}`, BLOCK_KIT_LIMITS.headerText) },
    { type: "section", text: md(escapeMrkdwn(d.summary), BLOCK_KIT_LIMITS.sectionText) },
    { type: "section", fields },
  ];
  if (d.error) {
    const error = truncate(d.error.replaceAll("```", "'''"), BLOCK_KIT_LIMITS.sectionText - 20);
    blocks.push({
      type: "section",
      text: md(`*Error*\n\`\`\`${escapeMrkdwn(error)}\`\`\``, BLOCK_KIT_LIMITS.sectionText),
    });
  }
  blocks.push({
    type: "section",
    text: md(
      `*What to do*\n${escapeMrkdwn(whatToDo(d.rule, d.pipeline, d.runId))}`,
      BLOCK_KIT_LIMITS.sectionText,
    ),
  });
  blocks.push(...buttons([{ text: "Open the job in its tool", url: d.url, id: "open-job" }]));
  blocks.push(contextBlock(footer(event, context)));
  return { text: truncate(escapeMrkdwn(`🔴 ${title}: ${d.summary}`), BLOCK_KIT_LIMITS.messageText), blocks };
}

/** The message of an incident that was resolved: the figure back within its threshold, and how long it lasted. */
export function recoveryMessage(
  event: EventOf<"ThresholdRecovered">,
  context: MessageContext = {},
): SlackMessage {
  const d = event.detail.data;
  const title = `Resolved: ${RULE_TITLES[d.rule]}: ${d.pipeline}`;
  const step = stepText(d);
  const lasted = Math.max(0, Date.parse(d.resolvedAt) - Date.parse(d.openedAt));
  const fields = [
    field("Pipeline", d.pipeline),
    ...(step ? [field("Step", step)] : []),
    field("Figure now", figureText(d.unit, d.figure)),
    field("Threshold", thresholdText(d.rule, d.unit, d.threshold)),
    ...(d.runId ? [field("Run", d.runId)] : []),
    field("Open for", durationText(lasted)),
  ];
  const blocks: Block[] = [
    { type: "header", text: plain(`✅ ${title}`, BLOCK_KIT_LIMITS.headerText) },
    { type: "section", text: md(escapeMrkdwn(d.summary), BLOCK_KIT_LIMITS.sectionText) },
    { type: "section", fields },
    contextBlock(footer(event, context)),
  ];
  return { text: truncate(escapeMrkdwn(`✅ ${title}: ${d.summary}`), BLOCK_KIT_LIMITS.messageText), blocks };
}

/**
 * The footer: the stage, the incident, and the status API's paths of the run and of the open
 * incidents (with the API's base URL when known). Paths, not buttons: on AWS the API wants SigV4,
 * which a browser's click does not send (`awscurl` does).
 */
function footer(event: AlertEvent, context: MessageContext): string[] {
  const d = event.detail.data;
  const base = escapeMrkdwn(context.statusApiUrl ?? "");
  return [
    `Tapestry${context.stage ? ` ${escapeMrkdwn(context.stage)}` : ""}`,
    `incident \`${d.incidentId}\``,
    ...(d.runId ? [`run: \`GET ${base}${escapeMrkdwn(runPath(d.runId))}\``] : []),
    `open incidents: \`GET ${base}/alerts\``,
  ];
}

export function durationText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return "under a minute";
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 6) / 10;
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 2.4) / 10} days`;
}

/** A control-plane alarm's change (AWS): which alarm, what it means, the reason CloudWatch gave, what to do. */
export interface HealthAlarmNotice {
  readonly alarmName: string;
  readonly transition: "alarm" | "recovered";
  /** the alarm's description: what it means and what to do (the stack writes it) */
  readonly description?: string;
  /** CloudWatch's reason for the new state */
  readonly reason: string;
  readonly at: string;
  /** the alarm's page in the CloudWatch console */
  readonly consoleUrl?: string;
}

export function healthAlarmMessage(notice: HealthAlarmNotice, context: MessageContext = {}): SlackMessage {
  const alarm = notice.transition === "alarm";
  const title = `${alarm ? "🔴 Control plane alarm" : "✅ Resolved"}: ${notice.alarmName}`;
  const blocks: Block[] = [
    { type: "header", text: plain(title, BLOCK_KIT_LIMITS.headerText) },
    ...(notice.description
      ? [
          {
            type: "section" as const,
            text: md(escapeMrkdwn(notice.description), BLOCK_KIT_LIMITS.sectionText),
          },
        ]
      : []),
    {
      type: "section",
      fields: [
        field("Alarm", notice.alarmName),
        field("State", alarm ? "ALARM" : "OK"),
        md(`*Since*\n${slackDate(notice.at)}`, BLOCK_KIT_LIMITS.fieldText),
      ],
    },
    {
      type: "section",
      text: md(
        `*Why*\n${escapeMrkdwn(notice.reason || "(CloudWatch gave no reason)")}`,
        BLOCK_KIT_LIMITS.sectionText,
      ),
    },
    ...buttons([{ text: "Open the alarm in CloudWatch", url: notice.consoleUrl, id: "open-alarm" }]),
    contextBlock([
      `Tapestry${context.stage ? ` ${escapeMrkdwn(context.stage)}` : ""}`,
      "what each alarm means: docs/operations.md",
    ]),
  ];
  return { text: truncate(escapeMrkdwn(`${title}: ${notice.reason}`), BLOCK_KIT_LIMITS.messageText), blocks };
}

/** Every way a message breaks Block Kit's limits; empty for one Slack takes. */
export function blockKitProblems(message: SlackMessage): string[] {
  const L = BLOCK_KIT_LIMITS;
  const problems: string[] = [];
  const length = (text: string) => [...text].length;
  const check = (what: string, text: string, max: number, min = 1) => {
    if (length(text) > max) problems.push(`${what}: ${length(text)} characters, over ${max}`);
    if (length(text) < min) problems.push(`${what}: empty`);
  };
  check("text", message.text, L.messageText);
  if (message.blocks.length > L.blocksPerMessage) {
    problems.push(`blocks: ${message.blocks.length}, over ${L.blocksPerMessage}`);
  }
  message.blocks.forEach((block, i) => {
    const at = `blocks[${i}] (${block.type})`;
    switch (block.type) {
      case "header":
        if (block.text.type !== "plain_text") problems.push(`${at}: a header's text must be plain_text`);
        check(`${at}.text`, block.text.text, L.headerText);
        break;
      case "section":
        if (!block.text && !block.fields) problems.push(`${at}: needs text or fields`);
        if (block.text) check(`${at}.text`, block.text.text, L.sectionText);
        if (block.fields && block.fields.length > L.sectionFields) {
          problems.push(`${at}.fields: ${block.fields.length}, over ${L.sectionFields}`);
        }
        for (const [j, f] of (block.fields ?? []).entries()) check(`${at}.fields[${j}]`, f.text, L.fieldText);
        break;
      case "context":
        if (block.elements.length === 0 || block.elements.length > L.contextElements) {
          problems.push(`${at}.elements: ${block.elements.length}, expected 1 to ${L.contextElements}`);
        }
        for (const [j, e] of block.elements.entries()) check(`${at}.elements[${j}]`, e.text, L.contextText);
        break;
      case "actions":
        if (block.elements.length === 0 || block.elements.length > L.actionsElements) {
          problems.push(`${at}.elements: ${block.elements.length}, expected 1 to ${L.actionsElements}`);
        }
        block.elements.forEach((e, j) => {
          check(`${at}.elements[${j}].text`, e.text.text, L.buttonText);
          check(`${at}.elements[${j}].url`, e.url, L.buttonUrl);
          check(`${at}.elements[${j}].action_id`, e.action_id, L.actionId);
        });
        break;
      case "divider":
        break;
    }
  });
  return problems;
}
