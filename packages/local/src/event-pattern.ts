import { TapestryError } from "@tapestry/core/errors";

/**
 * EventBridge event patterns, evaluated in process for the local event bus. No maintained npm
 * package implements them (see docs/adr/0005-local-event-pattern-matcher.md), so this module does,
 * following the EventBridge User Guide ("Event patterns", "Comparison operators", "Arrays",
 * "Matching null values and empty strings"):
 *
 * - A pattern has the event's shape. Every field it names must match (AND); fields it does not
 *   name are ignored. A nested object matches a nested object of the event; an array of matchers
 *   matches a leaf (a string, number, boolean or null) when any one matcher does (OR).
 * - `"$or": [pattern, ...]` at any level matches when any of the patterns does.
 * - Arrays in the event: a leaf array matches when any of its elements does; a nested pattern over
 *   an array of objects matches when any of the objects does.
 * - Matchers: a value (exact, type-sensitive: "5" is not 5; `null` matches null, `""` the empty
 *   string), `prefix`, `suffix` (each also as `{ "equals-ignore-case": "..." }`),
 *   `equals-ignore-case`, `wildcard` (`*` any run of characters, `\*` a literal star),
 *   `anything-but` (a value, a list of values, or `prefix`/`suffix`/`equals-ignore-case`/`wildcard`),
 *   `numeric` (`["=", 5]`, `[">", 0, "<=", 5]`) and `exists` (true: the field is a present leaf).
 * - Every matcher but `exists: false` needs the field to be present. String matchers only match
 *   strings, `numeric` only numbers.
 *
 * Known differences from the service: numbers are compared by value (EventBridge compares 300 and
 * 3.0e2 as different strings; after JSON.parse they are the same number here), `cidr` is not
 * supported (rejected when the pattern is compiled), and pattern size limits are not enforced.
 */

export type EventPattern = { readonly [field: string]: unknown };

/** A pattern EventBridge would reject, with the path of the offending part. */
export class EventPatternError extends TapestryError {
  override readonly name = "EventPatternError";
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`event pattern ${path}: ${problem}`);
  }
}

type Node = (object: Readonly<Record<string, unknown>>) => boolean;
type Leaf = (value: unknown) => boolean;

/** Compiles a pattern into a predicate over events; throws an EventPatternError when it is invalid. */
export function compileEventPattern(pattern: EventPattern): (event: unknown) => boolean {
  const node = compileNode(pattern, "$");
  return (event) => isRecord(event) && node(event);
}

/** Whether the event matches the pattern (compiles the pattern on each call: prefer compileEventPattern). */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return compileEventPattern(pattern)(event);
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function compileNode(pattern: unknown, path: string): Node {
  if (!isRecord(pattern)) throw new EventPatternError(path, "expected an object");
  const entries = Object.entries(pattern);
  if (entries.length === 0)
    throw new EventPatternError(path, "an empty pattern matches nothing; name a field");
  const checks = entries.map(([key, value]): Node => {
    const at = `${path}.${key}`;
    if (key === "$or") {
      if (!Array.isArray(value) || value.length === 0) {
        throw new EventPatternError(at, "expected a list of patterns");
      }
      const alternatives = value.map((alternative, i) => compileNode(alternative, `${at}[${i}]`));
      return (object) => alternatives.some((alternative) => alternative(object));
    }
    if (Array.isArray(value)) {
      if (value.length === 0) throw new EventPatternError(at, "expected at least one matcher");
      const leaf = compileLeaves(value, at);
      return (object) => leaf(object, key);
    }
    if (isRecord(value)) {
      const nested = compileNode(value, at);
      return (object) => {
        if (!Object.hasOwn(object, key)) return false;
        return objectsOf(object[key]).some(nested);
      };
    }
    throw new EventPatternError(
      at,
      'expected a list of matchers (e.g. ["value"]) or a nested pattern object',
    );
  });
  return (object) => checks.every((check) => check(object));
}

/** The objects a nested pattern applies to: the value itself, or the objects of an array. */
function objectsOf(value: unknown): Readonly<Record<string, unknown>>[] {
  if (Array.isArray(value)) return value.flatMap(objectsOf);
  return isRecord(value) ? [value] : [];
}

/** The leaf values of a field: the value, or the elements of an array (objects are not leaves). */
function leavesOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(leavesOf);
  return typeof value === "object" && value !== null ? [] : [value];
}

function compileLeaves(matchers: readonly unknown[], path: string) {
  const compiled = matchers.map((matcher, i) => compileMatcher(matcher, `${path}[${i}]`));
  return (object: Readonly<Record<string, unknown>>, key: string): boolean => {
    const present = Object.hasOwn(object, key) && object[key] !== undefined;
    const leaves = present ? leavesOf(object[key]) : [];
    return compiled.some((matcher) =>
      matcher.kind === "exists" ? matcher.wanted === leaves.length > 0 : leaves.some(matcher.test),
    );
  };
}

type Matcher =
  | { readonly kind: "exists"; readonly wanted: boolean }
  | { readonly kind: "test"; readonly test: Leaf };

const isString = (value: unknown): value is string => typeof value === "string";
const isValue = (value: unknown): value is string | number | boolean | null =>
  value === null || ["string", "number", "boolean"].includes(typeof value);

function compileMatcher(matcher: unknown, path: string): Matcher {
  if (isValue(matcher)) return { kind: "test", test: (value) => value === matcher };
  if (!isRecord(matcher)) throw new EventPatternError(path, "expected a value or an operator object");
  const keys = Object.keys(matcher);
  const [operator] = keys;
  if (keys.length !== 1 || operator === undefined) {
    throw new EventPatternError(path, `expected exactly one operator, got ${keys.length}`);
  }
  const operand = matcher[operator];
  const at = `${path}.${operator}`;
  switch (operator) {
    case "exists":
      if (typeof operand !== "boolean") throw new EventPatternError(at, "expected true or false");
      return { kind: "exists", wanted: operand };
    case "prefix":
    case "suffix":
    case "equals-ignore-case":
    case "wildcard":
      return { kind: "test", test: stringTest(operator, operand, at) };
    case "numeric":
      return { kind: "test", test: numericTest(operand, at) };
    case "anything-but":
      return { kind: "test", test: anythingButTest(operand, at) };
    case "cidr":
      throw new EventPatternError(at, "cidr is not supported by the local event bus");
    default:
      throw new EventPatternError(at, "unknown operator");
  }
}

/** prefix, suffix, equals-ignore-case, wildcard: true when the value is a string that matches. */
function stringTest(operator: string, operand: unknown, path: string): Leaf {
  switch (operator) {
    case "prefix":
    case "suffix": {
      const ignoreCase = isRecord(operand);
      const text = ignoreCase ? ignoreCaseOperand(operand, path) : operand;
      if (!isString(text))
        throw new EventPatternError(path, 'expected a string or { "equals-ignore-case": string }');
      const wanted = ignoreCase ? text.toLowerCase() : text;
      return (value) => {
        if (!isString(value)) return false;
        const subject = ignoreCase ? value.toLowerCase() : value;
        return operator === "prefix" ? subject.startsWith(wanted) : subject.endsWith(wanted);
      };
    }
    case "equals-ignore-case": {
      if (!isString(operand)) throw new EventPatternError(path, "expected a string");
      const wanted = operand.toLowerCase();
      return (value) => isString(value) && value.toLowerCase() === wanted;
    }
    default: {
      if (!isString(operand)) throw new EventPatternError(path, "expected a string");
      const regex = wildcardRegex(operand, path);
      return (value) => isString(value) && regex.test(value);
    }
  }
}

function ignoreCaseOperand(operand: Readonly<Record<string, unknown>>, path: string): unknown {
  const keys = Object.keys(operand);
  if (keys.length !== 1 || keys[0] !== "equals-ignore-case") {
    throw new EventPatternError(path, 'expected a string or { "equals-ignore-case": string }');
  }
  return operand["equals-ignore-case"];
}

function wildcardRegex(pattern: string, path: string): RegExp {
  let source = "";
  let previousStar = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? "";
    if (char === "\\") {
      const next = pattern[i + 1];
      if (next !== "*" && next !== "\\") {
        throw new EventPatternError(path, 'a backslash must escape "*" or "\\"');
      }
      source += `\\${next}`;
      i++;
      previousStar = false;
    } else if (char === "*") {
      if (previousStar) throw new EventPatternError(path, 'consecutive "*" are not allowed');
      source += "[\\s\\S]*";
      previousStar = true;
    } else {
      source += char.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
      previousStar = false;
    }
  }
  return new RegExp(`^${source}$`);
}

const LOWER = new Set([">", ">="]);
const UPPER = new Set(["<", "<="]);

function numericTest(operand: unknown, path: string): Leaf {
  const invalid = () =>
    new EventPatternError(path, 'expected ["=", n], [">"|">="|"<"|"<=", n] or [">"|">=", n, "<"|"<=", m]');
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) throw invalid();
  const comparisons: [string, number][] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const op = operand[i];
    const bound = operand[i + 1];
    if (!isString(op) || typeof bound !== "number" || !Number.isFinite(bound)) throw invalid();
    comparisons.push([op, bound]);
  }
  const [first, second] = comparisons;
  if (!first) throw invalid();
  if (second) {
    if (!LOWER.has(first[0]) || !UPPER.has(second[0])) throw invalid();
  } else if (first[0] !== "=" && !LOWER.has(first[0]) && !UPPER.has(first[0])) {
    throw invalid();
  }
  return (value) =>
    typeof value === "number" &&
    comparisons.every(([op, bound]) => {
      switch (op) {
        case "=":
          return value === bound;
        case ">":
          return value > bound;
        case ">=":
          return value >= bound;
        case "<":
          return value < bound;
        default:
          return value <= bound;
      }
    });
}

function anythingButTest(operand: unknown, path: string): Leaf {
  if (isRecord(operand)) {
    const keys = Object.keys(operand);
    const [operator] = keys;
    if (
      keys.length !== 1 ||
      operator === undefined ||
      !["prefix", "suffix", "equals-ignore-case", "wildcard"].includes(operator)
    ) {
      throw new EventPatternError(
        path,
        "expected a value, a list of values, or one of prefix, suffix, equals-ignore-case, wildcard",
      );
    }
    const inner = operand[operator];
    const operands = Array.isArray(inner) ? inner : [inner];
    if (operands.length === 0)
      throw new EventPatternError(`${path}.${operator}`, "expected at least one value");
    const tests = operands.map((item, i) => {
      if (!isString(item)) throw new EventPatternError(`${path}.${operator}[${i}]`, "expected a string");
      return stringTest(operator, item, `${path}.${operator}`);
    });
    // Only a string can be "anything but" a string pattern.
    return (value) => isString(value) && !tests.some((test) => test(value));
  }
  const excluded = Array.isArray(operand) ? operand : [operand];
  if (excluded.length === 0 || !excluded.every((item) => isString(item) || typeof item === "number")) {
    throw new EventPatternError(path, "expected a string, a number, or a non-empty list of them");
  }
  return (value) => !excluded.includes(value as string | number);
}
