/**
 * RFC 9457 problem details: the shape of every error answer of the status API, and the one
 * builder of it. Errors that the API answers with a problem of their own build it here (see
 * `ProblemError` in errors.ts); the API's routing answers (unknown route, wrong method) too.
 */

/** One problem with a request: which field (`limit`, `note`, `runId`, `(body)`) and what is wrong with it. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/**
 * `type` is "about:blank" when the status code says it all (unknown route, wrong method, server
 * error); Tapestry's own problems have a `urn:tapestry:problem:` type.
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

/** What a problem says beyond its type, title, status, detail and instance. */
export type ProblemExtras = Pick<Problem, "errors" | "activeRunId" | "allow">;

/**
 * The kind of a problem: its status and, for Tapestry's own kinds, the type's last part
 * (`run-not-found` for `urn:tapestry:problem:run-not-found`) and its title. Without a type the
 * problem is "about:blank" and its title the status's reason phrase.
 */
export interface ProblemKind {
  readonly status: number;
  readonly type?: string;
  readonly title?: string;
}

/** The problem an error is answered with: its kind, a detail other than the error's message, extra members. */
export interface ProblemAnswer extends ProblemKind {
  readonly detail?: string;
  readonly extras?: ProblemExtras;
}

/** The answer to a request with bad fields (400 `invalid-request`): the detail lists them, `errors` has one entry each. */
export function invalidRequestAnswer(
  errors: readonly FieldError[],
): ProblemAnswer & { readonly detail: string } {
  return {
    status: 400,
    type: "invalid-request",
    title: "The request is invalid",
    detail: errors.map((e) => `${e.field}: ${e.message}`).join("; "),
    extras: { errors },
  };
}

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

/** A problem about `instance` (the request's path). Its keys are always in this order: the answer is their JSON. */
export function problemOf(
  kind: ProblemKind,
  detail: string,
  instance: string,
  extras: ProblemExtras = {},
): Problem {
  return {
    type: kind.type === undefined ? "about:blank" : `${TYPE_PREFIX}${kind.type}`,
    title: kind.title ?? HTTP_TITLES[kind.status] ?? "Error",
    status: kind.status,
    detail,
    instance,
    ...extras,
  };
}

/** Anything thrown that knows the problem it is answered with. */
export interface ProblemSource {
  toProblem(instance: string): Problem;
}

/**
 * Whether a thrown value knows its problem: by its `toProblem` method, not its class, because a
 * bundle may hold two copies of core and an error of one copy is no `instanceof` of the other's.
 */
export function hasProblem(thrown: unknown): thrown is ProblemSource {
  return (
    typeof thrown === "object" &&
    thrown !== null &&
    typeof (thrown as { toProblem?: unknown }).toProblem === "function"
  );
}
