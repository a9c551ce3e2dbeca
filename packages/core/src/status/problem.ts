import type { FieldError } from "./errors";

/**
 * RFC 9457 problem details. `type` is "about:blank" when the status code says it all (unknown
 * route, wrong method, server error); Tapestry's own problems have a `urn:tapestry:problem:` type.
 */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string;
  /** validation problems only: one entry per bad field */
  readonly errors?: readonly FieldError[];
  /** 409 only: the run that is still going */
  readonly activeRunId?: string;
  /** 405 only: the methods the path accepts */
  readonly allow?: readonly string[];
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

const TYPE_PREFIX = "urn:tapestry:problem:";

const HTTP_TITLES: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  421: "Misdirected Request",
  500: "Internal Server Error",
};

/** A problem whose meaning is the status code's own ("about:blank"); its title is the status phrase. */
export function problem(status: number, detail: string, instance: string): Problem {
  return { type: "about:blank", title: HTTP_TITLES[status] ?? "Error", status, detail, instance };
}

export function invalidRequestProblem(errors: readonly FieldError[], instance: string): Problem {
  return {
    type: `${TYPE_PREFIX}invalid-request`,
    title: "The request is invalid",
    status: 400,
    detail: errors.map((e) => `${e.field}: ${e.message}`).join("; "),
    instance,
    errors,
  };
}

export function pipelineNotFoundProblem(pipeline: string, instance: string): Problem {
  return {
    type: `${TYPE_PREFIX}pipeline-not-found`,
    title: "Unknown pipeline",
    status: 404,
    detail: `there is no pipeline named "${pipeline}"`,
    instance,
  };
}

export function runNotFoundProblem(runId: string, instance: string): Problem {
  return {
    type: `${TYPE_PREFIX}run-not-found`,
    title: "Unknown run",
    status: 404,
    detail: `there is no run "${runId}"`,
    instance,
  };
}

export function runActiveProblem(pipeline: string, activeRunId: string, instance: string): Problem {
  return {
    type: `${TYPE_PREFIX}run-active`,
    title: "A run of this pipeline is still going",
    status: 409,
    detail: `run "${activeRunId}" of pipeline "${pipeline}" is still going and the pipeline's overlap policy is "skip": try again when it has finished`,
    instance,
    activeRunId,
  };
}

/** A cancel of a run that has ended. */
export function runEndedProblem(runId: string, status: string, instance: string): Problem {
  return {
    type: `${TYPE_PREFIX}run-ended`,
    title: "This run has ended",
    status: 409,
    detail: `run "${runId}" has ended (${status}): there is nothing to cancel`,
    instance,
  };
}

/** A start with a run id that was used before (the run starter refused it); no second run was started. */
export function runAlreadyStartedProblem(runId: string, instance: string): Problem {
  return {
    type: `${TYPE_PREFIX}run-already-started`,
    title: "This run was already started",
    status: 409,
    detail: `run "${runId}" was already started; no second run was started: try again to start a new run`,
    instance,
  };
}

export function routeNotFoundProblem(method: string, path: string): Problem {
  return problem(404, `no route ${method} ${path}`, path);
}

export function methodNotAllowedProblem(method: string, path: string, allow: readonly string[]): Problem {
  return {
    ...problem(405, `${path} does not accept ${method}; it accepts ${allow.join(", ")}`, path),
    allow,
  };
}

/**
 * The problem for any error thrown while answering `instance`. Tapestry's request errors are told
 * apart by name (so a copy of a class from another bundle still matches); anything else is a 500
 * whose detail says nothing about the error (its message may name internals).
 */
export function problemFromError(error: unknown, instance: string): Problem {
  const named = error instanceof Error ? error : undefined;
  switch (named?.name) {
    case "InvalidRequestError": {
      const errors = (named as Error & { errors?: readonly FieldError[] }).errors ?? [];
      return invalidRequestProblem(errors, instance);
    }
    case "InvalidCursorError":
      return invalidRequestProblem(
        [
          {
            field: "cursor",
            message: "not a cursor this API handed out (or it has expired): start again without it",
          },
        ],
        instance,
      );
    case "UnsupportedMediaTypeError":
      return problem(415, named.message, instance);
    case "PipelineNotFoundError":
      return pipelineNotFoundProblem((named as Error & { pipeline: string }).pipeline, instance);
    case "RunNotFoundError":
      return runNotFoundProblem((named as Error & { runId: string }).runId, instance);
    case "RunActiveError": {
      const { pipeline, activeRunId } = named as Error & { pipeline: string; activeRunId: string };
      return runActiveProblem(pipeline, activeRunId, instance);
    }
    case "RunEndedError": {
      const { runId, status } = named as Error & { runId: string; status: string };
      return runEndedProblem(runId, status, instance);
    }
    case "RunAlreadyStartedError":
      return runAlreadyStartedProblem((named as Error & { runId: string }).runId, instance);
    default:
      return problem(500, "the request could not be answered; the error is in the service's log", instance);
  }
}
