import { describe, expect, it } from "vitest";
import {
  compileEventPattern,
  type EventPattern,
  EventPatternError,
  matchesEventPattern,
} from "../../packages/local/src/event-pattern";

/** An EventBridge envelope with a detail shaped like the User Guide's examples. */
const event = {
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "111122223333",
  time: "2017-12-22T18:43:48Z",
  region: "us-west-1",
  resources: ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  detail: {
    "instance-id": "i-1234567890abcdef0",
    state: "terminated",
    "c-count": 5,
    "d-count": 0.5,
    active: true,
    nothing: null,
    empty: "",
    FileName: "photo.PNG",
    tags: ["prod", "web"],
    ports: [80, 443],
    location: { city: "New York", zip: "10001" },
    items: [
      { name: "a", qty: 1 },
      { name: "b", qty: 7 },
    ],
    path: "src/lib/*/index.ts",
  },
};

const matches = (pattern: EventPattern, subject: unknown = event) => matchesEventPattern(pattern, subject);
const detail = (fields: EventPattern): EventPattern => ({ detail: fields });

describe("structure", () => {
  it("matches when every named field matches, ignoring the fields it does not name", () => {
    expect(matches({ source: ["aws.ec2"] })).toBe(true);
    expect(matches({ source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"] })).toBe(
      true,
    );
    expect(matches({ source: ["aws.ec2"], region: ["eu-west-1"] })).toBe(false);
  });

  it("an array of matchers is an OR", () => {
    expect(matches({ source: ["aws.s3", "aws.ec2"] })).toBe(true);
    expect(matches({ source: ["aws.s3", "aws.sqs"] })).toBe(false);
  });

  it("nested objects match nested objects; a missing field never matches", () => {
    expect(matches(detail({ location: { city: ["New York"] } }))).toBe(true);
    expect(matches(detail({ location: { city: ["Boston"] } }))).toBe(false);
    expect(matches(detail({ missing: ["x"] }))).toBe(false);
    expect(matches(detail({ location: ["New York"] }))).toBe(false); // an object is not a leaf
    expect(matches(detail({ state: { nested: ["x"] } }))).toBe(false); // a leaf is not an object
  });

  it("exact values are type-sensitive; null and the empty string are values", () => {
    expect(matches(detail({ "c-count": [5] }))).toBe(true);
    expect(matches(detail({ "c-count": ["5"] }))).toBe(false);
    expect(matches(detail({ active: [true] }))).toBe(true);
    expect(matches(detail({ active: ["true"] }))).toBe(false);
    expect(matches(detail({ nothing: [null] }))).toBe(true);
    expect(matches(detail({ empty: [""] }))).toBe(true);
    expect(matches(detail({ empty: [null] }))).toBe(false);
    expect(matches(detail({ missing: [null] }))).toBe(false);
  });

  it("is case-sensitive unless told otherwise", () => {
    expect(matches({ source: ["AWS.EC2"] })).toBe(false);
  });
});

describe("arrays in the event", () => {
  it("a leaf array matches when any element does", () => {
    expect(matches(detail({ tags: ["web"] }))).toBe(true);
    expect(matches(detail({ tags: ["db", "prod"] }))).toBe(true);
    expect(matches(detail({ tags: ["db"] }))).toBe(false);
    expect(matches(detail({ ports: [{ numeric: [">", 400] }] }))).toBe(true);
    expect(matches({ resources: [{ prefix: "arn:aws:ec2:" }] })).toBe(true);
  });

  it("a nested pattern over an array of objects matches when any object does", () => {
    expect(matches(detail({ items: { name: ["b"] } }))).toBe(true);
    expect(matches(detail({ items: { name: ["b"], qty: [{ numeric: [">", 5] }] } }))).toBe(true);
    expect(matches(detail({ items: { name: ["c"] } }))).toBe(false);
  });
});

describe("string operators", () => {
  it("prefix, also ignoring case", () => {
    expect(matches({ time: [{ prefix: "2017-12-22" }] })).toBe(true);
    expect(matches({ time: [{ prefix: "2018" }] })).toBe(false);
    expect(matches({ source: [{ prefix: { "equals-ignore-case": "AWS." } }] })).toBe(true);
    expect(matches(detail({ "c-count": [{ prefix: "5" }] }))).toBe(false); // numbers are not strings
  });

  it("suffix, also ignoring case", () => {
    expect(matches(detail({ FileName: [{ suffix: ".PNG" }] }))).toBe(true);
    expect(matches(detail({ FileName: [{ suffix: ".png" }] }))).toBe(false);
    expect(matches(detail({ FileName: [{ suffix: { "equals-ignore-case": ".png" } }] }))).toBe(true);
  });

  it("equals-ignore-case", () => {
    expect(matches(detail({ state: [{ "equals-ignore-case": "TERMINATED" }] }))).toBe(true);
    expect(matches(detail({ state: [{ "equals-ignore-case": "running" }] }))).toBe(false);
  });

  it("wildcard: * is any run of characters, \\* a literal star", () => {
    expect(matches(detail({ FileName: [{ wildcard: "photo.*" }] }))).toBe(true);
    expect(matches(detail({ FileName: [{ wildcard: "*.PNG" }] }))).toBe(true);
    expect(matches(detail({ FileName: [{ wildcard: "p*o.P*G" }] }))).toBe(true);
    expect(matches(detail({ FileName: [{ wildcard: "*.png" }] }))).toBe(false);
    expect(matches(detail({ FileName: [{ wildcard: "photo" }] }))).toBe(false); // anchored
    expect(matches(detail({ path: [{ wildcard: "src/lib/\\*/*" }] }))).toBe(true);
    expect(matches(detail({ path: [{ wildcard: "src/\\*/*" }] }))).toBe(false);
    expect(matches(detail({ FileName: [{ wildcard: "photo(.PNG" }] }))).toBe(false); // regex characters are literal
  });
});

describe("anything-but", () => {
  it("a value or a list of values", () => {
    expect(matches(detail({ state: [{ "anything-but": "running" }] }))).toBe(true);
    expect(matches(detail({ state: [{ "anything-but": "terminated" }] }))).toBe(false);
    expect(matches(detail({ state: [{ "anything-but": ["stopped", "terminated"] }] }))).toBe(false);
    expect(matches(detail({ "c-count": [{ "anything-but": [1, 2, 3] }] }))).toBe(true);
    expect(matches(detail({ "c-count": [{ "anything-but": 5 }] }))).toBe(false);
  });

  it("needs the field to be present", () => {
    expect(matches(detail({ missing: [{ "anything-but": "x" }] }))).toBe(false);
  });

  it("with prefix, suffix, equals-ignore-case and wildcard", () => {
    expect(matches({ region: [{ "anything-but": { prefix: "us-" } }] })).toBe(false);
    expect(matches({ region: [{ "anything-but": { prefix: "eu-" } }] })).toBe(true);
    expect(matches(detail({ FileName: [{ "anything-but": { suffix: ".PNG" } }] }))).toBe(false);
    expect(matches(detail({ FileName: [{ "anything-but": { suffix: ".jpg" } }] }))).toBe(true);
    expect(
      matches(detail({ state: [{ "anything-but": { "equals-ignore-case": ["RUNNING", "Terminated"] } }] })),
    ).toBe(false);
    expect(matches(detail({ state: [{ "anything-but": { "equals-ignore-case": "RUNNING" } }] }))).toBe(true);
    expect(matches(detail({ path: [{ "anything-but": { wildcard: "*/lib/*" } }] }))).toBe(false);
    expect(matches(detail({ path: [{ "anything-but": { wildcard: "*/bin/*" } }] }))).toBe(true);
    // A string pattern excludes strings only: a number is not "anything but a prefix".
    expect(matches(detail({ "c-count": [{ "anything-but": { prefix: "x" } }] }))).toBe(false);
  });
});

describe("numeric", () => {
  it("compares numbers", () => {
    expect(matches(detail({ "c-count": [{ numeric: ["=", 5] }] }))).toBe(true);
    expect(matches(detail({ "c-count": [{ numeric: [">", 5] }] }))).toBe(false);
    expect(matches(detail({ "c-count": [{ numeric: [">=", 5] }] }))).toBe(true);
    expect(matches(detail({ "c-count": [{ numeric: ["<", 5] }] }))).toBe(false);
    expect(matches(detail({ "c-count": [{ numeric: ["<=", 5] }] }))).toBe(true);
    expect(matches(detail({ "c-count": [{ numeric: [">", 0, "<=", 5] }] }))).toBe(true);
    expect(matches(detail({ "d-count": [{ numeric: [">", 0, "<", 0.5] }] }))).toBe(false);
    expect(matches(detail({ "d-count": [{ numeric: [">=", 0.5, "<", 1] }] }))).toBe(true);
  });

  it("matches numbers only", () => {
    expect(matches(detail({ state: [{ numeric: [">", 0] }] }))).toBe(false);
    expect(matches({ detail: { "c-count": [{ numeric: ["=", 5] }] } }, { detail: { "c-count": "5" } })).toBe(
      false,
    );
  });
});

describe("exists", () => {
  it("true: the field is present as a leaf (null included); false: it is absent", () => {
    expect(matches(detail({ state: [{ exists: true }] }))).toBe(true);
    expect(matches(detail({ nothing: [{ exists: true }] }))).toBe(true);
    expect(matches(detail({ missing: [{ exists: true }] }))).toBe(false);
    expect(matches(detail({ missing: [{ exists: false }] }))).toBe(true);
    expect(matches(detail({ state: [{ exists: false }] }))).toBe(false);
    expect(matches(detail({ location: [{ exists: true }] }))).toBe(false); // only on leaves
  });

  it("combines with other fields (AND) and other matchers (OR)", () => {
    expect(matches({ source: ["aws.ec2"], detail: { missing: [{ exists: false }] } })).toBe(true);
    expect(matches(detail({ missing: [{ exists: true }, { exists: false }] }))).toBe(true);
  });
});

describe("$or", () => {
  it("matches when any alternative does, AND-ed with the other fields", () => {
    expect(matches({ $or: [{ source: ["aws.s3"] }, { detail: { state: ["terminated"] } }] })).toBe(true);
    expect(matches({ $or: [{ source: ["aws.s3"] }, { detail: { state: ["running"] } }] })).toBe(false);
    expect(matches({ region: ["us-west-1"], $or: [{ source: ["aws.s3"] }, { source: ["aws.ec2"] }] })).toBe(
      true,
    );
    expect(matches({ region: ["eu-west-1"], $or: [{ source: ["aws.s3"] }, { source: ["aws.ec2"] }] })).toBe(
      false,
    );
  });

  it("works inside nested objects", () => {
    expect(
      matches(
        detail({ $or: [{ "c-count": [{ numeric: [">", 10] }] }, { "d-count": [{ numeric: ["<", 1] }] }] }),
      ),
    ).toBe(true);
    expect(matches(detail({ $or: [{ "c-count": [{ numeric: [">", 10] }] }, { missing: ["x"] }] }))).toBe(
      false,
    );
  });
});

describe("invalid patterns are rejected when compiled", () => {
  const invalid: [string, EventPattern][] = [
    ["empty pattern", {}],
    ["a bare value instead of a list", { source: "aws.ec2" }],
    ["an empty list", { source: [] }],
    ["an unknown operator", { source: [{ startsWith: "aws" }] }],
    ["two operators in one object", { source: [{ prefix: "a", suffix: "b" }] }],
    ["cidr (not supported locally)", { detail: { ip: [{ cidr: "10.0.0.0/24" }] } }],
    ["numeric with a bad operator", { detail: { n: [{ numeric: ["!=", 5] }] } }],
    ["numeric range written upside down", { detail: { n: [{ numeric: ["<", 5, ">", 0] }] } }],
    ["numeric with a string bound", { detail: { n: [{ numeric: [">", "5"] }] } }],
    ["consecutive wildcards", { detail: { f: [{ wildcard: "a**b" }] } }],
    ["exists with a string", { detail: { f: [{ exists: "yes" }] } }],
    ["$or that is not a list", { $or: { source: ["a"] } }],
    ["anything-but with an object list", { source: [{ "anything-but": [{ prefix: "a" }] }] }],
  ];
  it.each(invalid)("%s", (_name, pattern) => {
    expect(() => compileEventPattern(pattern)).toThrow(EventPatternError);
  });

  it("names where the problem is", () => {
    expect(() => compileEventPattern({ detail: { n: [{ numeric: ["!=", 5] }] } })).toThrow(
      /\$\.detail\.n\[0\]\.numeric/,
    );
  });
});
