import { describe, expect, it } from "vitest";
import { type Answer, checkAnswer } from "./status-api-answers";

/**
 * The status API's answer check bites: every test of test/api and test/aws/status-api passes its
 * answers through `checkAnswer` and expects no problem, so each way an answer can break the spec
 * must give a problem that names the exchange and the field.
 */

const JSON_TYPE = { "content-type": "application/json" };
const PROBLEM_TYPE = { "content-type": "application/problem+json" };

const pipeline = {
  name: "rain-shield-audience",
  health: "healthy",
  lastRun: null,
  nextScheduledAt: "2026-03-03T11:00:00.000Z",
  schedule: { expression: "cron(0 6 * * ? *)", timezone: "America/New_York", enabled: true },
};
const overview = { generatedAt: "2026-03-02T12:00:00.000Z", pipelines: [pipeline] };

function answer(partial: Partial<Omit<Answer, "body">> & { body: unknown }): Answer {
  const { body, ...rest } = partial;
  return {
    method: "GET",
    path: "/status",
    status: 200,
    headers: JSON_TYPE,
    ...rest,
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

const notFound = {
  type: "about:blank",
  title: "Not Found",
  status: 404,
  detail: "no route",
  instance: "/nope",
};
const preflightHeaders = {
  "access-control-allow-origin": "https://ops.example.com",
  "access-control-allow-methods": "GET, HEAD",
  "access-control-allow-headers": "authorization, content-type",
  "access-control-max-age": "7200",
  vary: "origin",
};

describe("the status API's answer check", () => {
  it("passes answers as documented (so that the refusals below are about what they change)", () => {
    expect(checkAnswer(answer({ body: overview }))).toEqual([]);
    expect(
      checkAnswer(answer({ path: "/health", body: { status: "ok", time: overview.generatedAt } })),
    ).toEqual([]);
    expect(
      checkAnswer(answer({ path: "/nope", status: 404, headers: PROBLEM_TYPE, body: notFound })),
    ).toEqual([]);
    expect(checkAnswer(answer({ method: "HEAD", headers: JSON_TYPE, body: "" }))).toEqual([]);
  });

  it("refuses a body missing a required field, naming the field", () => {
    const { health: _, ...withoutHealth } = pipeline;
    expect(checkAnswer(answer({ body: { ...overview, pipelines: [withoutHealth] } }))).toEqual([
      "GET /status -> 200: response body /pipelines/0: must have required property 'health'",
    ]);
  });

  it("refuses a value outside its enum or a field the schema does not allow, naming each", () => {
    const problems = checkAnswer(
      answer({ body: { ...overview, pipelines: [{ ...pipeline, health: "sunny", tokenSecret: "x" }] } }),
    );
    expect(problems).toContain(
      "GET /status -> 200: response body /pipelines/0: must NOT have additional properties: 'tokenSecret'",
    );
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^GET \/status -> 200: response body \/pipelines\/0\/health: must be equal to one of the allowed values .*got "sunny"$/,
      ),
    );
  });

  it("refuses a timestamp that is not a date-time", () => {
    expect(checkAnswer(answer({ path: "/health", body: { status: "ok", time: "noon" } }))).toEqual([
      'GET /health -> 200: response body /time: must match format "date-time", got "noon"',
    ]);
  });

  it("refuses a JSON body without its Content-Type, or under another one", () => {
    expect(checkAnswer(answer({ headers: {}, body: overview }))).toEqual([
      "GET /status -> 200: response Content-Type (none) is not documented for getStatus 200 (application/json)",
    ]);
    expect(checkAnswer(answer({ headers: { "content-type": "text/html" }, body: overview }))).toEqual([
      "GET /status -> 200: response Content-Type text/html is not documented for getStatus 200 (application/json)",
    ]);
    expect(checkAnswer(answer({ body: "{not json" }))).toEqual([
      "GET /status -> 200: response body: not valid JSON",
    ]);
  });

  it("refuses a status the operation does not document", () => {
    expect(checkAnswer(answer({ status: 418, body: overview }))).toEqual([
      "GET /status -> 418: response status 418 is not documented for getStatus (documented: 200, 500)",
    ]);
  });

  it("wants 404 for a path that is no route, and 405 with Allow for a method a path does not take", () => {
    expect(checkAnswer(answer({ path: "/nope", body: overview }))).toEqual([
      "GET /nope -> 200: GET /nope is no documented path, yet answered 200",
    ]);
    expect(checkAnswer(answer({ method: "DELETE", path: "/status", status: 200, body: overview }))).toEqual([
      "DELETE /status -> 200: DELETE /status is not documented, yet answered 200 instead of 405",
    ]);
    const methodNotAllowed = {
      ...notFound,
      title: "Method Not Allowed",
      status: 405,
      instance: "/status",
      allow: ["GET", "HEAD"],
    };
    expect(
      checkAnswer(
        answer({
          method: "DELETE",
          path: "/status",
          status: 405,
          headers: PROBLEM_TYPE,
          body: methodNotAllowed,
        }),
      ),
    ).toEqual([
      "DELETE /status -> 405: response header Allow: missing; DELETE /status requires it for MethodNotAllowed",
    ]);
  });

  it("refuses a body on a HEAD answer and on a preflight's 204", () => {
    expect(checkAnswer(answer({ method: "HEAD", body: overview }))).toEqual([
      "HEAD /status -> 200: response body: sent, but headStatus documents none for 200",
    ]);
    expect(
      checkAnswer(answer({ method: "OPTIONS", status: 204, headers: preflightHeaders, body: "hello" })),
    ).toEqual(["OPTIONS /status -> 204: response body: sent, but preflightStatus documents none for 204"]);
  });
});
