import type { Execution } from "./lifecycle";
import type { WebhookScript } from "./scenario";
import type { SandboxLogger } from "./server";
import { sleep } from "./time";
import type { SandboxTool } from "./traffic";

/** One webhook delivery a sandbox attempted (for tests and the bench; never the URL, which may hold a secret). */
export interface SentWebhook {
  /** the tool's id of the job the webhook is about */
  readonly jobId: string;
  /** what the job runs: connection id, dbt job id */
  readonly key: string;
  /** when the job ended in the sandbox, when this delivery went out, and when its answer came */
  readonly endedAt: Date;
  readonly sentAt: Date;
  readonly answeredAt: Date;
  /** which copy of the job's webhook (1 unless the scenario duplicates it) and which attempt of it */
  readonly copy: number;
  readonly attempt: number;
  readonly forged: boolean;
  /** what the webhook claims (a scenario may make it lie) */
  readonly claim: "succeeded" | "failed" | "cancelled";
  /** the receiver's answer, or why there was none */
  readonly status: number | "unreachable";
}

/** A webhook ready to go: where, what (the raw body), and the headers (a signature). */
export interface WebhookRequest {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Builds a job's webhooks: one per registered webhook that wants it (none registered: nothing is sent). */
export type WebhookBuilder = (
  execution: Execution,
  options: { readonly forged: boolean; readonly claim: SentWebhook["claim"] },
) => readonly WebhookRequest[];

export interface WebhookSenderOptions {
  readonly tool: SandboxTool;
  /** the scenario's `webhooks` entries, consumed one per job that ends */
  readonly scripts?: readonly WebhookScript[] | undefined;
  /** whether a script's `for` names this job's key (default: equal; Airbyte also takes a connection's name) */
  readonly names?: (scriptFor: string, key: string) => boolean;
  /** deliveries of one webhook after a failed one (dbt Cloud retries 5 times; Airbyte does not) */
  readonly retries: number;
  readonly build: WebhookBuilder;
  readonly logger?: SandboxLogger | undefined;
}

/** dbt Cloud's delivery timeout; used for both tools. */
const DELIVERY_TIMEOUT_MS = 10_000;
const RETRY_PAUSE_MS = 200;

/**
 * Sends a job's completion webhook when it ends, as the tools do, scripted by the scenario: dropped
 * (never sent), delayed, sent several times, forged (a wrong URL secret or signature), or claiming
 * the other outcome. Deliveries run in the background; `close()` ends those still waiting.
 */
export class WebhookSender {
  private readonly pending: WebhookScript[];
  private readonly sent: SentWebhook[] = [];
  private readonly stopping = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: WebhookSenderOptions) {
    this.pending = [...(options.scripts ?? [])];
  }

  deliveries(): readonly SentWebhook[] {
    return this.sent;
  }

  /** A job ended: its webhook goes out as its script says (Airbyte sends none for a cancelled job). */
  jobEnded(execution: Execution): void {
    const outcome = execution.phase;
    if (outcome !== "succeeded" && outcome !== "failed" && outcome !== "cancelled") return;
    if (this.options.tool === "airbyte" && outcome === "cancelled") return;
    const index = this.pending.findIndex(
      (script) =>
        script.for === undefined ||
        (this.options.names ?? ((a: string, b: string) => a === b))(String(script.for), execution.key),
    );
    const script = index >= 0 ? (this.pending.splice(index, 1)[0] ?? {}) : {};
    if (script.drop) {
      this.log("debug", "webhook dropped (scenario)", { jobId: execution.id });
      return;
    }
    const delivery = this.deliver(execution, script, outcome);
    this.running.add(delivery);
    void delivery.finally(() => this.running.delete(delivery));
  }

  /** Ends the deliveries still waiting (a delay, a retry pause); a request in flight is cut. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.running]);
  }

  private async deliver(
    execution: Execution,
    script: WebhookScript,
    outcome: SentWebhook["claim"],
  ): Promise<void> {
    const endedAt = execution.finishedAt ?? new Date();
    const claim = script.claim ?? outcome;
    const forged = script.forge === true;
    try {
      if (script.delayMs) await sleep(script.delayMs, this.stopping.signal);
      const requests = this.options.build(execution, { forged, claim });
      const copies = script.copies ?? 1;
      for (const request of requests) {
        for (let copy = 1; copy <= copies; copy++) {
          for (let attempt = 1; attempt <= this.options.retries + 1; attempt++) {
            const sentAt = new Date();
            const status = await this.post(request);
            this.sent.push({
              jobId: execution.id,
              key: execution.key,
              endedAt,
              sentAt,
              answeredAt: new Date(),
              copy,
              attempt,
              forged,
              claim,
              status,
            });
            if (typeof status === "number" && status < 300) break;
            if (attempt <= this.options.retries) await sleep(RETRY_PAUSE_MS, this.stopping.signal);
          }
        }
      }
    } catch (error) {
      if (!this.stopping.signal.aborted) {
        this.log("warn", "sending a webhook failed", {
          jobId: execution.id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  private async post(request: WebhookRequest): Promise<number | "unreachable"> {
    try {
      const response = await fetch(request.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...request.headers },
        body: request.body,
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
      });
      await response.arrayBuffer();
      return response.status;
    } catch {
      if (this.stopping.signal.aborted) throw new Error("the sandbox closed");
      return "unreachable";
    }
  }

  private log(level: "debug" | "warn", message: string, data: Record<string, unknown>): void {
    this.options.logger?.({ tool: this.options.tool, level, message, data });
  }
}
