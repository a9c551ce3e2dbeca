import * as coreErrors from "@tapestry/core/errors";
import * as ledgerErrors from "@tapestry/core/ledger";
import * as statusErrors from "@tapestry/core/status";
import { problemFromError } from "@tapestry/core/status";
import { describe, expect, it } from "vitest";

/**
 * Every error the status API answers with a problem of its own, and that problem, byte for byte as
 * docs/status-api.openapi.yaml documents it (test/api validates the answers against the file; this
 * table pins each error's own mapping, key order included, since the answer is JSON.stringify'd).
 */

/** The modules that define the errors: core's own, or a second copy of them, as another bundle would hold. */
interface ErrorModules {
  readonly core: Pick<typeof coreErrors, "RunAlreadyStartedError">;
  readonly ledger: Pick<typeof ledgerErrors, "InvalidCursorError">;
  readonly status: Pick<
    typeof statusErrors,
    | "InvalidRequestError"
    | "UnsupportedMediaTypeError"
    | "PipelineNotFoundError"
    | "RunNotFoundError"
    | "RunActiveError"
    | "RunEndedError"
  >;
}

const RUN_ID = "rain-shield-audience-20261121T110000Z";
const INSTANCE = "/pipelines/rain-shield-audience/runs";

type Row = readonly [name: string, make: (m: ErrorModules) => Error, answer: Record<string, unknown>];
const ROWS: readonly Row[] = [
  [
    "InvalidRequestError",
    (m) =>
      new m.status.InvalidRequestError([
        { field: "limit", message: "expected an integer from 1 to 100" },
        { field: "(body)", message: "not valid JSON" },
      ]),
    {
      type: "urn:tapestry:problem:invalid-request",
      title: "The request is invalid",
      status: 400,
      detail: "limit: expected an integer from 1 to 100; (body): not valid JSON",
      instance: INSTANCE,
      errors: [
        { field: "limit", message: "expected an integer from 1 to 100" },
        { field: "(body)", message: "not valid JSON" },
      ],
    },
  ],
  [
    "InvalidCursorError",
    (m) => new m.ledger.InvalidCursorError(),
    {
      type: "urn:tapestry:problem:invalid-request",
      title: "The request is invalid",
      status: 400,
      detail: "cursor: not a cursor this API handed out (or it has expired): start again without it",
      instance: INSTANCE,
      errors: [
        {
          field: "cursor",
          message: "not a cursor this API handed out (or it has expired): start again without it",
        },
      ],
    },
  ],
  [
    "UnsupportedMediaTypeError (no Content-Type)",
    (m) => new m.status.UnsupportedMediaTypeError(undefined),
    {
      type: "about:blank",
      title: "Unsupported Media Type",
      status: 415,
      detail:
        "the request has no Content-Type: send the header Content-Type: application/json (even with no body)",
      instance: INSTANCE,
    },
  ],
  [
    "UnsupportedMediaTypeError (text/plain)",
    (m) => new m.status.UnsupportedMediaTypeError("text/plain"),
    {
      type: "about:blank",
      title: "Unsupported Media Type",
      status: 415,
      detail: 'a request of type "text/plain" is not accepted: send Content-Type: application/json',
      instance: INSTANCE,
    },
  ],
  [
    "PipelineNotFoundError",
    (m) => new m.status.PipelineNotFoundError("nope"),
    {
      type: "urn:tapestry:problem:pipeline-not-found",
      title: "Unknown pipeline",
      status: 404,
      detail: 'there is no pipeline named "nope"',
      instance: INSTANCE,
    },
  ],
  [
    "RunNotFoundError",
    (m) => new m.status.RunNotFoundError(RUN_ID),
    {
      type: "urn:tapestry:problem:run-not-found",
      title: "Unknown run",
      status: 404,
      detail: `there is no run "${RUN_ID}"`,
      instance: INSTANCE,
    },
  ],
  [
    "RunActiveError",
    (m) => new m.status.RunActiveError("rain-shield-audience", RUN_ID),
    {
      type: "urn:tapestry:problem:run-active",
      title: "A run of this pipeline is still going",
      status: 409,
      detail: `run "${RUN_ID}" of pipeline "rain-shield-audience" is still going and the pipeline's overlap policy is "skip": try again when it has finished`,
      instance: INSTANCE,
      activeRunId: RUN_ID,
    },
  ],
  [
    "RunEndedError",
    (m) => new m.status.RunEndedError(RUN_ID, "succeeded"),
    {
      type: "urn:tapestry:problem:run-ended",
      title: "This run has ended",
      status: 409,
      detail: `run "${RUN_ID}" has ended (succeeded): there is nothing to cancel`,
      instance: INSTANCE,
    },
  ],
  [
    "RunAlreadyStartedError",
    (m) => new m.core.RunAlreadyStartedError(RUN_ID),
    {
      type: "urn:tapestry:problem:run-already-started",
      title: "This run was already started",
      status: 409,
      detail: `run "${RUN_ID}" was already started; no second run was started: try again to start a new run`,
      instance: INSTANCE,
    },
  ],
];

const CORE: ErrorModules = { core: coreErrors, ledger: ledgerErrors, status: statusErrors };

/**
 * A second copy of the modules that define the errors, as a second bundle of core would hold:
 * the same classes by shape and name, none of them the classes `problemFromError` was built with.
 */
async function anotherBundle(): Promise<ErrorModules> {
  const copy = <T>(specifier: string): Promise<T> => import(`${specifier}?another-bundle`) as Promise<T>;
  return {
    core: await copy<typeof coreErrors>("../../../packages/core/src/errors.ts"),
    ledger: await copy<typeof ledgerErrors>("../../../packages/core/src/ledger/errors.ts"),
    status: await copy<typeof statusErrors>("../../../packages/core/src/status/errors.ts"),
  };
}

describe("the problem each status API error answers with (its own toProblem)", () => {
  it.each(ROWS)("%s", (_, make, answer) => {
    const error = make(CORE);
    expect(JSON.stringify(problemFromError(error, INSTANCE))).toBe(JSON.stringify(answer));
  });

  it("is the same for a copy of each error from another bundle (matched by its method, not its class)", async () => {
    const other = await anotherBundle();
    for (const [name, make, answer] of ROWS) {
      const error = make(other);
      expect(error, name).not.toBeInstanceOf(make(CORE).constructor);
      expect(JSON.stringify(problemFromError(error, INSTANCE)), name).toBe(JSON.stringify(answer));
    }
  });

  it("is answered for any thrown value that knows its problem, Error or not", () => {
    const thrown = {
      toProblem: (instance: string) => ({
        type: "about:blank",
        title: "Conflict",
        status: 409,
        detail: "own",
        instance,
      }),
    };
    expect(problemFromError(thrown, "/runs/x/cancel")).toMatchObject({
      status: 409,
      instance: "/runs/x/cancel",
    });
  });
});

describe("an error that knows no problem", () => {
  const OPAQUE = {
    type: "about:blank",
    title: "Internal Server Error",
    status: 500,
    detail: "the request could not be answered; the error is in the service's log",
    instance: INSTANCE,
  };
  const INTERNALS = "arn:aws:dynamodb:eu-west-1:123456789012:table/tapestry-prod-ledger token=s3cr3t";

  const UNANSWERED: readonly (readonly [string, unknown])[] = [
    ["a plain Error", new Error(INTERNALS)],
    ["a TapestryError", new coreErrors.TapestryError(INTERNALS)],
    ["a named error the API has no answer for", new coreErrors.LedgerUnavailableError(INTERNALS)],
    // A library's error that happens to share a name must not pass for ours.
    ...[...new Set(ROWS.map(([row]) => row.split(" ")[0] ?? row))].map(
      (name) =>
        [
          `an error only named ${name}`,
          Object.assign(new Error(INTERNALS), {
            name,
            runId: INTERNALS,
            pipeline: INTERNALS,
            activeRunId: INTERNALS,
            status: INTERNALS,
            errors: [{ field: "internals", message: INTERNALS }],
          }),
        ] as const,
    ),
    ["a string", INTERNALS],
    ["undefined", undefined],
    ["an object whose toProblem is not a method", { toProblem: INTERNALS, message: INTERNALS }],
  ];

  it.each(UNANSWERED)("is the opaque 500 for %s, and its message never reaches the answer", (_, thrown) => {
    const answer = problemFromError(thrown, INSTANCE);
    expect(JSON.stringify(answer)).toBe(JSON.stringify(OPAQUE));
    expect(JSON.stringify(answer)).not.toContain("s3cr3t");
  });
});
