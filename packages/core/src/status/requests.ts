import * as z from "zod";
import { parseRunId } from "../pipeline/run-id";
import { issuesAsMessages } from "../zod-messages";
import { type FieldError, InvalidRequestError, UnsupportedMediaTypeError } from "./errors";

/** Parsing of the status API's inputs. Each function returns the parsed value or throws InvalidRequestError naming the field. */

export const RUNS_PAGE_DEFAULT_LIMIT = 20;
export const RUNS_PAGE_MAX_LIMIT = 100;
export const NOTE_MAX_LENGTH = 1000;

const limitMessage = `expected a whole number from 1 to ${RUNS_PAGE_MAX_LIMIT}`;

const runsQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, { error: limitMessage })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: limitMessage }).max(RUNS_PAGE_MAX_LIMIT, { error: limitMessage }))
    .optional(),
  cursor: z
    .string()
    .min(1, { error: "expected the nextCursor of the previous page" })
    .max(2048, { error: "expected the nextCursor of the previous page" })
    .optional(),
});

const triggerBodySchema = z.strictObject(
  {
    note: z
      .string({ error: "expected text" })
      .max(NOTE_MAX_LENGTH, { error: `expected at most ${NOTE_MAX_LENGTH} characters` })
      .optional(),
  },
  { error: "expected a JSON object" },
);

export interface RunsQuery {
  readonly limit: number;
  readonly cursor?: string;
}

export interface TriggerRequest {
  readonly note?: string;
}

/** `?limit=&cursor=` of GET /pipelines/{name}/runs; other query parameters are rejected. */
export function parseRunsQuery(params: Readonly<Record<string, string | undefined>> | undefined): RunsQuery {
  const present = Object.fromEntries(Object.entries(params ?? {}).filter(([, v]) => v !== undefined));
  const result = runsQuerySchema.safeParse(present);
  if (!result.success) throw new InvalidRequestError(fieldErrors(result.error.issues, "query parameter"));
  const { limit = RUNS_PAGE_DEFAULT_LIMIT, cursor } = result.data;
  return cursor === undefined ? { limit } : { limit, cursor };
}

/** A run id from a path: `<pipeline>-<yyyymmddThhmmssZ>` (scheduled) or `<pipeline>-m<ULID>` (manual). */
export function parseRunIdParam(raw: string | undefined): string {
  if (raw === undefined || parseRunId(raw) === undefined) {
    throw new InvalidRequestError([
      {
        field: "runId",
        message:
          'not a run id: expected "<pipeline>-<yyyymmddThhmmssZ>" (scheduled) or "<pipeline>-m<ULID>" (manual)',
      },
    ]);
  }
  return raw;
}

/**
 * A request that may change something (POST, PUT, PATCH) must say `Content-Type: application/json`
 * (or another JSON media type), with or without a body. A web page can send a JSON type only after
 * a CORS preflight, so the rule keeps other sites from driving the API through a user's browser
 * (locally the API has no other lock; ADR 0012). Throws UnsupportedMediaTypeError (415).
 */
export function requireJsonContentType(contentType: string | undefined): void {
  if (contentType === undefined || !isJsonMediaType(contentType)) {
    throw new UnsupportedMediaTypeError(contentType);
  }
}

/**
 * The request of POST /pipelines/{name}/runs: `Content-Type: application/json` and nothing, or a
 * JSON object `{ "note"?: string }`.
 */
export function parseTriggerBody(input: {
  body: string | undefined;
  contentType: string | undefined;
}): TriggerRequest {
  requireJsonContentType(input.contentType);
  if (input.body === undefined || input.body.trim() === "") return {};
  let json: unknown;
  try {
    json = JSON.parse(input.body);
  } catch {
    throw new InvalidRequestError([{ field: "(body)", message: "not valid JSON" }]);
  }
  const result = triggerBodySchema.safeParse(json);
  if (!result.success) throw new InvalidRequestError(fieldErrors(result.error.issues, "key"));
  return result.data.note === undefined ? {} : { note: result.data.note };
}

function isJsonMediaType(contentType: string): boolean {
  const essence = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(essence);
}

function fieldErrors(issues: readonly z.core.$ZodIssue[], unknownKind: string): FieldError[] {
  const wording = { root: "(body)", unknownKey: `unknown ${unknownKind}: remove it or check its spelling` };
  return issuesAsMessages(issues, wording).map(({ path, message }) => ({ field: path, message }));
}
