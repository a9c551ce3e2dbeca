import { TapestryError } from "@tapestry/core/errors";
import type * as z from "zod";
import { problemSchema } from "./answers";
import { StatusApiAnswerError, StatusApiRefusedError, StatusApiUnreachableError } from "./errors";

/** One request to the status API: a path under its base URL (with its query), and a JSON body for a POST. */
export interface ApiRequest {
  readonly method: "GET" | "POST" | "DELETE";
  readonly path: string;
  readonly body?: string;
}

export interface ApiAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** Sends a request to the status API: plain fetch to the embedded one, SigV4-signed to a stage's. */
export type Transport = (request: ApiRequest) => Promise<ApiAnswer>;

/** The status API of one target: answers parsed with the CLI's schemas, refusals as StatusApiRefusedError. */
export class StatusApiClient {
  constructor(
    /** names the target in messages: "the embedded control plane at http://127.0.0.1:4000" */
    readonly description: string,
    private readonly transport: Transport,
    /** said after a 403: how to get access */
    private readonly forbiddenHint = "",
  ) {}

  get<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
    return this.send({ method: "GET", path }, schema);
  }

  /** A POST with a JSON body (the API refuses one without Content-Type: application/json). */
  post<S extends z.ZodType>(path: string, body: object, schema: S): Promise<z.infer<S>> {
    return this.send({ method: "POST", path, body: JSON.stringify(body) }, schema);
  }

  /** A DELETE, with a JSON body when one is given (DELETE /provisioning: `{ purge: true }`). */
  delete<S extends z.ZodType>(path: string, body: object, schema: S): Promise<z.infer<S>> {
    return this.send({ method: "DELETE", path, body: JSON.stringify(body) }, schema);
  }

  private async send<S extends z.ZodType>(request: ApiRequest, schema: S): Promise<z.infer<S>> {
    let answer: ApiAnswer;
    try {
      answer = await this.transport(request);
    } catch (error) {
      if (error instanceof TapestryError) throw error;
      throw new StatusApiUnreachableError(
        `could not reach ${this.description} (${describeNetworkError(error)})`,
        { cause: error },
      );
    }
    const json = parseJson(answer.body);
    if (answer.status >= 400) throw this.refusal(request, answer, json);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new StatusApiAnswerError(
        `${this.description} answered ${request.method} ${request.path} with something this tapestry command does not understand (${answer.status}: ${parsed.error.issues[0]?.message ?? "not JSON"}): is the CLI older than the API?`,
      );
    }
    return parsed.data;
  }

  private refusal(request: ApiRequest, answer: ApiAnswer, json: unknown): StatusApiRefusedError {
    const problem = problemSchema.safeParse(json);
    const fields = problem.success
      ? (problem.data.errors ?? []).map((e) => `${e.field}: ${e.message}`).join("; ")
      : "";
    const detail = problem.success
      ? (problem.data.detail ?? problem.data.title ?? problem.data.message ?? `HTTP ${answer.status}`)
      : `HTTP ${answer.status}${answer.body ? `: ${answer.body.slice(0, 200)}` : ""}`;
    const hint = answer.status === 403 && this.forbiddenHint ? `; ${this.forbiddenHint}` : "";
    return new StatusApiRefusedError(
      answer.status,
      `${this.description} refused ${request.method} ${request.path} (${answer.status}): ${detail}${
        fields && !detail.includes(fields) ? ` (${fields})` : ""
      }${hint}`,
    );
  }
}

function parseJson(body: string): unknown {
  try {
    return body === "" ? undefined : JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND) is its cause. */
function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return code === "ECONNREFUSED" ? "connection refused" : code;
  if (cause instanceof Error && cause.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** A transport on fetch, for the embedded control plane (no credentials: it answers loopback only). */
export function fetchTransport(baseUrl: string, fetchImpl: typeof fetch = fetch): Transport {
  return async (request) => {
    const response = await fetchImpl(joinUrl(baseUrl, request.path), {
      method: request.method,
      headers: {
        accept: "application/json",
        ...(request.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? undefined,
      body: await response.text(),
    };
  };
}

/** The base URL (which may carry a stage path, e.g. https://x.execute-api.../prod) and the request's path. */
export function joinUrl(baseUrl: string, path: string): URL {
  return new URL(`${baseUrl.replace(/\/+$/, "")}${path}`);
}
