import type { ConfigIssue } from "../errors";
import { formatPath } from "../zod-messages";

/**
 * A config file is code (tapestry.config.ts), so what it exports can be anything: getters that
 * throw, cycles, BigInts, functions, values reached through an object's prototype. Before the
 * schema sees it, the exported value is copied into plain data (objects and lists of text,
 * numbers, true/false and null) reading own enumerable data properties only: a getter is never
 * called, a prototype never read, and whatever is not plain data is refused at its path.
 */

export interface PlainData {
  readonly value: unknown;
  /** refusals, each at its path; the copy is not to be used when there is one */
  readonly issues: readonly ConfigIssue[];
  /** paths of keys an object only inherits (`Object.create(defaults)`), for "is required" hints */
  readonly inheritedPaths: ReadonlySet<string>;
}

/** Nesting deeper than any config needs: deeper means a generated or runaway structure. */
export const MAX_DEPTH = 32;

const PLAIN = "a config holds plain values: text, numbers, true/false, null, lists and objects";

export function toPlainData(root: unknown): PlainData {
  const issues: ConfigIssue[] = [];
  const inheritedPaths = new Set<string>();
  const ancestors = new Map<object, readonly PropertyKey[]>();

  const refuse = (path: readonly PropertyKey[], message: string): undefined => {
    issues.push({ path: formatPath(path), message });
    return undefined;
  };

  const copy = (value: unknown, path: readonly PropertyKey[]): unknown => {
    switch (typeof value) {
      case "string":
      case "number":
      case "boolean":
      case "undefined":
        return value;
      case "bigint":
        return refuse(path, `is the BigInt ${value}n: write the number ${value} without the n (${PLAIN})`);
      case "symbol":
        return refuse(path, `is a symbol: ${PLAIN}`);
      case "function":
        return refuse(
          path,
          path.length === 0
            ? "the default export is a function: export the config object itself, e.g. `export default defineConfig({ ... })`"
            : `is a function: ${PLAIN}; write the value itself`,
        );
    }
    if (value === null) return null;
    const object = value as object;
    const seenAt = ancestors.get(object);
    if (seenAt) {
      return refuse(
        path,
        `refers back to ${formatPath(seenAt)}: a config is a tree of plain values, not a cycle`,
      );
    }
    if (path.length > MAX_DEPTH) return refuse(path, `is nested more than ${MAX_DEPTH} levels deep`);
    ancestors.set(object, path);
    try {
      return Array.isArray(object) ? copyList(object, path) : copyObject(object, path);
    } catch (error) {
      // a Proxy trap (or a revoked Proxy) can throw while it is inspected
      return refuse(path, `could not be read (${describeThrown(error)}): ${PLAIN}`);
    } finally {
      ancestors.delete(object);
    }
  };

  const copyList = (list: readonly unknown[], path: readonly PropertyKey[]): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < list.length; i++) {
      const descriptor = Object.getOwnPropertyDescriptor(list, i);
      if (descriptor && !("value" in descriptor)) {
        out.push(refuse([...path, i], `is a getter: ${PLAIN}; write the value itself`));
      } else {
        out.push(copy(descriptor?.value, [...path, i]));
      }
    }
    return out;
  };

  const copyObject = (object: object, path: readonly PropertyKey[]): unknown => {
    const kind = Object.prototype.toString.call(object).slice("[object ".length, -1);
    if (kind === "Promise") {
      return refuse(
        path,
        "is a Promise: await it first (`export default await ...`), then export the config itself",
      );
    }
    if (kind !== "Object") return refuse(path, `is a ${kind}: ${PLAIN}`);
    const out: Record<string, unknown> = {};
    const own = Object.keys(object);
    for (const key of own) {
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      if (!descriptor) continue;
      if (!("value" in descriptor)) {
        refuse([...path, key], `is a getter: ${PLAIN}; write the value itself`);
        continue;
      }
      // defineProperty, not assignment: an own "__proto__" key stays a key (and the schema refuses it)
      Object.defineProperty(out, key, {
        value: copy(descriptor.value, [...path, key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    for (const key in object) {
      if (!own.includes(key)) inheritedPaths.add(formatPath([...path, key]));
    }
    return out;
  };

  const value = copy(root, []);
  return { value, issues, inheritedPaths };
}

function describeThrown(error: unknown): string {
  if (!(error instanceof Error)) return "it threw";
  const first = error.message.split("\n")[0] ?? "";
  return `${error.name}: ${first.length > 120 ? `${first.slice(0, 117)}...` : first}`;
}
