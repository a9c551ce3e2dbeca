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

/** A path as a chain from the leaf up: built for every value, turned into text only for a message. */
interface Place {
  readonly parent?: Place;
  readonly key: PropertyKey;
}

function pathOf(place: Place | undefined): PropertyKey[] {
  const keys: PropertyKey[] = [];
  for (let p = place; p; p = p.parent) keys.push(p.key);
  return keys.reverse();
}

export function toPlainData(root: unknown): PlainData {
  const issues: ConfigIssue[] = [];
  const inheritedPaths = new Set<string>();
  const ancestors = new Map<object, Place | undefined>();

  const refuse = (place: Place | undefined, message: string): undefined => {
    issues.push({ path: formatPath(pathOf(place)), message });
    return undefined;
  };

  const copy = (value: unknown, place: Place | undefined, depth: number): unknown => {
    switch (typeof value) {
      case "string":
      case "number":
      case "boolean":
      case "undefined":
        return value;
      case "bigint":
        return refuse(place, `is the BigInt ${value}n: write the number ${value} without the n (${PLAIN})`);
      case "symbol":
        return refuse(place, `is a symbol: ${PLAIN}`);
      case "function":
        return refuse(
          place,
          place === undefined
            ? "the default export is a function: export the config object itself, e.g. `export default defineConfig({ ... })`"
            : `is a function: ${PLAIN}; write the value itself`,
        );
    }
    if (value === null) return null;
    const object = value as object;
    if (ancestors.has(object)) {
      const where = formatPath(pathOf(ancestors.get(object)));
      return refuse(place, `refers back to ${where}: a config is a tree of plain values, not a cycle`);
    }
    if (depth > MAX_DEPTH) return refuse(place, `is nested more than ${MAX_DEPTH} levels deep`);
    ancestors.set(object, place);
    try {
      return Array.isArray(object) ? copyList(object, place, depth) : copyObject(object, place, depth);
    } catch (error) {
      // a Proxy trap (or a revoked Proxy) can throw while it is inspected
      return refuse(place, `could not be read (${describeThrown(error)}): ${PLAIN}`);
    } finally {
      ancestors.delete(object);
    }
  };

  /** An own data property's value, or a refusal of an accessor (a getter is never called). */
  const field = (descriptor: PropertyDescriptor | undefined, place: Place, depth: number): unknown => {
    if (descriptor && !("value" in descriptor))
      return refuse(place, `is a getter: ${PLAIN}; write the value itself`);
    return copy(descriptor?.value, place, depth + 1);
  };

  const copyList = (list: readonly unknown[], place: Place | undefined, depth: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < list.length; i++) {
      out.push(field(Object.getOwnPropertyDescriptor(list, i), { parent: place, key: i }, depth));
    }
    return out;
  };

  const copyObject = (object: object, place: Place | undefined, depth: number): unknown => {
    const prototype = Object.getPrototypeOf(object);
    // an object literal (the common case) inherits nothing enumerable and is a plain Object
    const literal = prototype === Object.prototype || prototype === null;
    const kind = literal ? "Object" : Object.prototype.toString.call(object).slice("[object ".length, -1);
    if (kind === "Promise") {
      return refuse(
        place,
        "is a Promise: await it first (`export default await ...`), then export the config itself",
      );
    }
    if (kind !== "Object") return refuse(place, `is a ${kind}: ${PLAIN}`);
    // no prototype: nothing the schema reads can come from anywhere but the config's own data, and
    // an own "__proto__" key stays a key (which the schema refuses as unknown)
    const out: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(object)) {
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      const here = { parent: place, key };
      if (descriptor && !("value" in descriptor)) field(descriptor, here, depth);
      else out[key] = field(descriptor, here, depth);
    }
    if (!literal) {
      for (const key in object) {
        if (!Object.hasOwn(object, key)) inheritedPaths.add(formatPath([...pathOf(place), key]));
      }
    }
    return out;
  };

  const value = copy(root, undefined, 0);
  return { value, issues, inheritedPaths };
}

function describeThrown(error: unknown): string {
  if (!(error instanceof Error)) return "it threw";
  const first = error.message.split("\n")[0] ?? "";
  return `${error.name}: ${first.length > 120 ? `${first.slice(0, 117)}...` : first}`;
}
