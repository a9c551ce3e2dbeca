import { ConditionalCheckFailedException, DynamoDBServiceException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DeleteCommandInput,
  type DeleteCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  type GetCommandOutput,
  PutCommand,
  type PutCommandInput,
  type PutCommandOutput,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import type { AwsClientStub } from "aws-sdk-client-mock";

/**
 * An in-memory model of one DynamoDB table with string keys and global secondary indexes, to put
 * behind an aws-sdk-client-mock of DynamoDBDocumentClient (so it sees the document client's
 * native values, before marshalling).
 *
 * It models what an adapter's correctness depends on, the way DynamoDB does it: conditional
 * writes failing with a real ConditionalCheckFailedException; Query pages that end at `Limit` or
 * at `maxItemsPerPage` (standing in for the 1 MB page) and then hand back a LastEvaluatedKey, even
 * when nothing follows; ExclusiveStartKey; sparse indexes; ValidationException for what DynamoDB
 * refuses (undefined or unused placeholders, ConsistentRead on an index, a malformed key).
 *
 * Its expression evaluator is deliberately small: attribute names only as `#placeholders`;
 * conditions made of `attribute_exists`/`attribute_not_exists` and `= < <= > >=` comparisons
 * joined by AND/OR; key conditions `pk = :v [AND (sk = :v | begins_with(sk, :v))]`; projections
 * `#a, #b`. Anything else throws UnsupportedExpressionError rather than guessing, so an adapter
 * that starts emitting something new fails its tests until the fake learns it.
 */

export interface DynamoDbTableFakeOptions {
  readonly tableName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly indexes?: readonly {
    readonly name: string;
    readonly partitionKey: string;
    readonly sortKey: string;
  }[];
  /** Ends every Query page after this many items, as DynamoDB does at 1 MB of items read. */
  readonly maxItemsPerPage?: number;
}

export type FakeItem = Record<string, unknown>;

/** An expression (or request parameter) this fake does not model: fix the fake, or the adapter. */
export class UnsupportedExpressionError extends Error {
  override readonly name = "UnsupportedExpressionError";
}

const MAX_ITEM_BYTES = 400 * 1024;

export class DynamoDbTableFake {
  private readonly items = new Map<string, FakeItem>();

  constructor(readonly options: DynamoDbTableFakeOptions) {}

  put(input: PutCommandInput): PutCommandOutput {
    this.checkRequest(input, ["TableName", "Item", "ConditionExpression", ...PLACEHOLDER_PARAMETERS]);
    const item = input.Item;
    if (item === undefined) throw validation("Item is required");
    assertMarshallable(item);
    const key = this.keyOf(item);
    for (const index of this.options.indexes ?? []) {
      for (const attribute of [index.partitionKey, index.sortKey]) {
        const value = item[attribute];
        if (value !== undefined && (typeof value !== "string" || value === "")) {
          throw validation(`Type mismatch or empty value for Index Key ${attribute} of index ${index.name}`);
        }
      }
    }
    if (approximateSize(item) > MAX_ITEM_BYTES)
      throw validation("Item size has exceeded the maximum allowed size");
    this.checkCondition(input, this.items.get(key));
    this.items.set(key, structuredClone(item));
    return { $metadata: {} };
  }

  get(input: GetCommandInput): GetCommandOutput {
    this.checkRequest(input, [
      "TableName",
      "Key",
      "ConsistentRead",
      "ProjectionExpression",
      "ExpressionAttributeNames",
    ]);
    if (input.Key === undefined) throw validation("Key is required");
    const key = this.keyOf(input.Key, { exact: true });
    const placeholders = new Placeholders(input.ExpressionAttributeNames, undefined);
    const projection =
      input.ProjectionExpression === undefined
        ? undefined
        : parseProjection(input.ProjectionExpression, placeholders);
    placeholders.assertAllUsed();
    const item = this.items.get(key);
    if (item === undefined) return { $metadata: {} };
    const copy = structuredClone(item);
    return {
      $metadata: {},
      Item:
        projection === undefined
          ? copy
          : Object.fromEntries(Object.entries(copy).filter(([name]) => projection.includes(name))),
    };
  }

  delete(input: DeleteCommandInput): DeleteCommandOutput {
    this.checkRequest(input, ["TableName", "Key", "ConditionExpression", ...PLACEHOLDER_PARAMETERS]);
    if (input.Key === undefined) throw validation("Key is required");
    const key = this.keyOf(input.Key, { exact: true });
    this.checkCondition(input, this.items.get(key));
    this.items.delete(key);
    return { $metadata: {} };
  }

  query(input: QueryCommandInput): QueryCommandOutput {
    this.checkRequest(input, [
      "TableName",
      "IndexName",
      "KeyConditionExpression",
      "ScanIndexForward",
      "Limit",
      "ExclusiveStartKey",
      "ConsistentRead",
      ...PLACEHOLDER_PARAMETERS,
    ]);
    const index =
      input.IndexName === undefined
        ? undefined
        : this.options.indexes?.find((i) => i.name === input.IndexName);
    if (input.IndexName !== undefined && index === undefined) {
      throw validation(`The table does not have the specified index: ${input.IndexName}`);
    }
    if (index !== undefined && input.ConsistentRead === true) {
      throw validation("Consistent reads are not supported on global secondary indexes");
    }
    const schema = index ?? this.options;
    if (input.KeyConditionExpression === undefined) throw validation("KeyConditionExpression is required");
    const placeholders = new Placeholders(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const condition = parseKeyCondition(input.KeyConditionExpression, placeholders, schema);
    placeholders.assertAllUsed();
    const limit = input.Limit;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw validation(`Limit must be a whole number of at least 1, not ${limit}`);
    }

    const forward = input.ScanIndexForward ?? true;
    // the item's position in the traversal: its sort key, then (an index's keys need not be unique) the table's keys
    const positionOf = (item: FakeItem): string[] => [
      String(item[schema.sortKey]),
      String(item[this.options.partitionKey]),
      String(item[this.options.sortKey]),
    ];
    const comparePositions = (a: string[], b: string[]): number => {
      for (const [i, part] of a.entries()) {
        const order = compareStrings(part, b[i] ?? "");
        if (order !== 0) return forward ? order : -order;
      }
      return 0;
    };
    let matching = [...this.items.values()]
      .filter(
        (item) => typeof item[schema.partitionKey] === "string" && typeof item[schema.sortKey] === "string",
      )
      .filter(
        (item) =>
          item[schema.partitionKey] === condition.partition &&
          condition.sortMatches(String(item[schema.sortKey])),
      )
      .sort((a, b) => comparePositions(positionOf(a), positionOf(b)));

    const start = input.ExclusiveStartKey;
    if (start !== undefined) {
      const expected = [
        this.options.partitionKey,
        this.options.sortKey,
        ...(index ? [index.partitionKey, index.sortKey] : []),
      ];
      const names = Object.keys(start);
      if (
        names.length !== new Set(expected).size ||
        !expected.every((name) => typeof start[name] === "string")
      ) {
        throw validation(
          "The provided starting key is invalid: The provided key element does not match the schema",
        );
      }
      if (
        start[schema.partitionKey] !== condition.partition ||
        !condition.sortMatches(String(start[schema.sortKey]))
      ) {
        throw validation(
          "The provided starting key is outside query boundaries based on provided conditions",
        );
      }
      const after = positionOf(start);
      matching = matching.filter((item) => comparePositions(positionOf(item), after) > 0);
    }

    const pageSize = Math.min(
      limit ?? Number.POSITIVE_INFINITY,
      this.options.maxItemsPerPage ?? Number.POSITIVE_INFINITY,
    );
    const page = matching.slice(0, pageSize);
    const last = page.at(-1);
    // DynamoDB stops at a full page without looking further: the key comes even when nothing follows
    const lastEvaluatedKey =
      page.length === pageSize && last !== undefined
        ? Object.fromEntries(
            [
              this.options.partitionKey,
              this.options.sortKey,
              ...(index ? [index.partitionKey, index.sortKey] : []),
            ].map((name) => [name, last[name]]),
          )
        : undefined;
    return {
      $metadata: {},
      Items: page.map((item) => structuredClone(item)),
      Count: page.length,
      ScannedCount: page.length,
      ...(lastEvaluatedKey === undefined ? {} : { LastEvaluatedKey: lastEvaluatedKey }),
    };
  }

  /** A copy of every item, in key order. */
  allItems(): FakeItem[] {
    return [...this.items.values()]
      .sort(
        (a, b) =>
          compareStrings(String(a[this.options.partitionKey]), String(b[this.options.partitionKey])) ||
          compareStrings(String(a[this.options.sortKey]), String(b[this.options.sortKey])),
      )
      .map((item) => structuredClone(item));
  }

  private checkRequest(input: object, known: readonly string[]): void {
    for (const [parameter, value] of Object.entries(input)) {
      // the SDK leaves out parameters set to undefined
      if (value !== undefined && !known.includes(parameter)) {
        throw new UnsupportedExpressionError(
          `the DynamoDB table fake does not model the parameter ${parameter}`,
        );
      }
    }
    const tableName: unknown = (input as { TableName?: unknown }).TableName;
    if (tableName !== this.options.tableName) {
      throw new DynamoDBServiceException({
        name: "ResourceNotFoundException",
        $fault: "client",
        $metadata: {},
        message: `Requested resource not found: Table: ${String(tableName)} not found`,
      });
    }
  }

  private checkCondition(input: PutCommandInput | DeleteCommandInput, existing: FakeItem | undefined): void {
    const placeholders = new Placeholders(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    if (input.ExpressionAttributeValues !== undefined) assertMarshallable(input.ExpressionAttributeValues);
    const condition =
      input.ConditionExpression === undefined
        ? undefined
        : parseCondition(input.ConditionExpression, placeholders);
    placeholders.assertAllUsed();
    if (condition !== undefined && !evaluate(condition, existing)) {
      throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
    }
  }

  private keyOf(item: Record<string, unknown>, options: { exact?: boolean } = {}): string {
    const { partitionKey, sortKey } = this.options;
    const partition = item[partitionKey];
    const sort = item[sortKey];
    if (typeof partition !== "string" || partition === "" || typeof sort !== "string" || sort === "") {
      throw validation(
        "One or more parameter values were invalid: The provided key element does not match the schema",
      );
    }
    if (options.exact && Object.keys(item).length !== 2) {
      throw validation("The provided key element does not match the schema");
    }
    return JSON.stringify([partition, sort]);
  }
}

/** Serves PutCommand, GetCommand, DeleteCommand and QueryCommand from `table`; any other command fails. */
export function serveTableThroughMock(
  mock: AwsClientStub<DynamoDBDocumentClient>,
  table: DynamoDbTableFake,
): void {
  mock
    .onAnyCommand()
    .callsFake(async () => {
      throw new UnsupportedExpressionError("the DynamoDB table fake serves Put, Get, Delete and Query only");
    })
    .on(PutCommand)
    .callsFake(async (input: PutCommandInput) => table.put(input))
    .on(GetCommand)
    .callsFake(async (input: GetCommandInput) => table.get(input))
    .on(DeleteCommand)
    .callsFake(async (input: DeleteCommandInput) => table.delete(input))
    .on(QueryCommand)
    .callsFake(async (input: QueryCommandInput) => table.query(input));
}

// ---------------------------------------------------------------------------------------------
// expressions

const PLACEHOLDER_PARAMETERS = ["ExpressionAttributeNames", "ExpressionAttributeValues"] as const;

type Comparator = "=" | "<" | "<=" | ">" | ">=";
const COMPARATORS: readonly string[] = ["=", "<", "<=", ">", ">="];

type Operand = { readonly path: string } | { readonly value: unknown };

type Condition =
  | { readonly kind: "and" | "or"; readonly left: Condition; readonly right: Condition }
  | { readonly kind: "attribute_exists" | "attribute_not_exists"; readonly path: string }
  | {
      readonly kind: "compare";
      readonly comparator: Comparator;
      readonly left: Operand;
      readonly right: Operand;
    };

/** Resolves `#name` and `:value` placeholders, and remembers which were used (DynamoDB refuses unused ones). */
class Placeholders {
  private readonly usedNames = new Set<string>();
  private readonly usedValues = new Set<string>();

  constructor(
    private readonly names: Record<string, string> | undefined,
    private readonly values: Record<string, unknown> | undefined,
  ) {}

  name(token: string, expression: string): string {
    if (!token.startsWith("#")) {
      throw new UnsupportedExpressionError(
        `${JSON.stringify(expression)}: the fake takes attribute names only as #placeholders (it does not know DynamoDB's reserved words), not ${JSON.stringify(token)}`,
      );
    }
    const name = this.names?.[token];
    if (name === undefined) {
      throw validation(
        `An expression attribute name used in the document path is not defined; attribute name: ${token}`,
      );
    }
    this.usedNames.add(token);
    return name;
  }

  value(token: string, expression: string): unknown {
    if (!token.startsWith(":")) {
      throw new UnsupportedExpressionError(
        `${JSON.stringify(expression)}: expected a :value, not ${JSON.stringify(token)}`,
      );
    }
    if (this.values === undefined || !Object.hasOwn(this.values, token)) {
      throw validation(
        `An expression attribute value used in expression is not defined; attribute value: ${token}`,
      );
    }
    this.usedValues.add(token);
    return this.values[token];
  }

  assertAllUsed(): void {
    const unusedNames = Object.keys(this.names ?? {}).filter((name) => !this.usedNames.has(name));
    if (unusedNames.length > 0) {
      throw validation(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(", ")}}`,
      );
    }
    const unusedValues = Object.keys(this.values ?? {}).filter((value) => !this.usedValues.has(value));
    if (unusedValues.length > 0) {
      throw validation(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(", ")}}`,
      );
    }
  }
}

class Tokens {
  private readonly tokens: string[];
  private position = 0;

  constructor(readonly expression: string) {
    this.tokens = expression.match(/#\w+|:\w+|\w+|<>|<=|>=|[=<>(),]|\S/g) ?? [];
  }

  peek(): string | undefined {
    return this.tokens[this.position];
  }

  next(): string {
    const token = this.tokens[this.position];
    if (token === undefined) throw this.unsupported("it ends too early");
    this.position += 1;
    return token;
  }

  expect(token: string): void {
    const found = this.next();
    if (found !== token)
      throw this.unsupported(`expected ${JSON.stringify(token)}, found ${JSON.stringify(found)}`);
  }

  nextIsKeyword(keyword: string): boolean {
    return this.peek()?.toUpperCase() === keyword;
  }

  expectEnd(): void {
    const rest = this.peek();
    if (rest !== undefined) throw this.unsupported(`unexpected ${JSON.stringify(rest)}`);
  }

  unsupported(why: string): UnsupportedExpressionError {
    return new UnsupportedExpressionError(
      `the DynamoDB table fake does not understand ${JSON.stringify(this.expression)}: ${why}`,
    );
  }
}

function parseCondition(expression: string, placeholders: Placeholders): Condition {
  const tokens = new Tokens(expression);
  const predicate = (): Condition => {
    const token = tokens.next();
    if (token === "attribute_exists" || token === "attribute_not_exists") {
      tokens.expect("(");
      const path = placeholders.name(tokens.next(), expression);
      tokens.expect(")");
      return { kind: token, path };
    }
    if (!token.startsWith("#") && !token.startsWith(":"))
      throw tokens.unsupported(`unexpected ${JSON.stringify(token)}`);
    const left = operand(token);
    const comparator = tokens.next();
    if (!COMPARATORS.includes(comparator))
      throw tokens.unsupported(`the comparator ${JSON.stringify(comparator)}`);
    return { kind: "compare", comparator: comparator as Comparator, left, right: operand(tokens.next()) };
  };
  const operand = (token: string): Operand =>
    token.startsWith(":")
      ? { value: placeholders.value(token, expression) }
      : { path: placeholders.name(token, expression) };
  const conjunction = (): Condition => {
    let left = predicate();
    while (tokens.nextIsKeyword("AND")) {
      tokens.next();
      left = { kind: "and", left, right: predicate() };
    }
    return left;
  };
  let condition = conjunction();
  while (tokens.nextIsKeyword("OR")) {
    tokens.next();
    condition = { kind: "or", left: condition, right: conjunction() };
  }
  tokens.expectEnd();
  return condition;
}

function evaluate(condition: Condition, item: FakeItem | undefined): boolean {
  switch (condition.kind) {
    case "and":
      return evaluate(condition.left, item) && evaluate(condition.right, item);
    case "or":
      return evaluate(condition.left, item) || evaluate(condition.right, item);
    case "attribute_exists":
      return item !== undefined && Object.hasOwn(item, condition.path);
    case "attribute_not_exists":
      return item === undefined || !Object.hasOwn(item, condition.path);
    case "compare": {
      const resolve = (operand: Operand): unknown =>
        "path" in operand ? item?.[operand.path] : operand.value;
      const left = resolve(condition.left);
      const right = resolve(condition.right);
      // DynamoDB: a missing attribute, or operands of different types, make a comparison false
      if (left === undefined || right === undefined || typeof left !== typeof right) return false;
      let order: number;
      if (typeof left === "string" && typeof right === "string") order = compareStrings(left, right);
      else if (typeof left === "number" && typeof right === "number") order = Math.sign(left - right);
      else
        throw new UnsupportedExpressionError(
          `the DynamoDB table fake compares strings and numbers only, not ${typeof left}`,
        );
      switch (condition.comparator) {
        case "=":
          return order === 0;
        case "<":
          return order < 0;
        case "<=":
          return order <= 0;
        case ">":
          return order > 0;
        case ">=":
          return order >= 0;
      }
    }
  }
}

interface KeyCondition {
  readonly partition: string;
  sortMatches(sortKey: string): boolean;
}

function parseKeyCondition(
  expression: string,
  placeholders: Placeholders,
  schema: { readonly partitionKey: string; readonly sortKey: string },
): KeyCondition {
  const tokens = new Tokens(expression);
  const keyValue = (token: string): string => {
    const value = placeholders.value(token, expression);
    if (typeof value !== "string") {
      throw validation(
        "One or more parameter values were invalid: Condition parameter type does not match schema type",
      );
    }
    return value;
  };
  const partitionName = placeholders.name(tokens.next(), expression);
  if (partitionName !== schema.partitionKey)
    throw tokens.unsupported("the fake wants the partition key's equality first");
  tokens.expect("=");
  const partition = keyValue(tokens.next());
  if (tokens.peek() === undefined) return { partition, sortMatches: () => true };

  if (!tokens.nextIsKeyword("AND")) throw tokens.unsupported(`unexpected ${JSON.stringify(tokens.peek())}`);
  tokens.next();
  let sortMatches: (sortKey: string) => boolean;
  let sortName: string;
  const token = tokens.next();
  if (token === "begins_with") {
    tokens.expect("(");
    sortName = placeholders.name(tokens.next(), expression);
    tokens.expect(",");
    const prefix = keyValue(tokens.next());
    tokens.expect(")");
    sortMatches = (sortKey) => sortKey.startsWith(prefix);
  } else {
    sortName = placeholders.name(token, expression);
    const comparator = tokens.next();
    if (comparator !== "=") throw tokens.unsupported(`the sort key comparator ${JSON.stringify(comparator)}`);
    const value = keyValue(tokens.next());
    sortMatches = (sortKey) => sortKey === value;
  }
  tokens.expectEnd();
  if (sortName !== schema.sortKey)
    throw validation(`Query key condition not supported: ${sortName} is not the sort key`);
  return { partition, sortMatches };
}

function parseProjection(expression: string, placeholders: Placeholders): string[] {
  const tokens = new Tokens(expression);
  const names = [placeholders.name(tokens.next(), expression)];
  while (tokens.peek() === ",") {
    tokens.next();
    names.push(placeholders.name(tokens.next(), expression));
  }
  tokens.expectEnd();
  return names;
}

// ---------------------------------------------------------------------------------------------
// helpers

function validation(message: string): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: "ValidationException",
    $fault: "client",
    $metadata: {},
    message,
  });
}

/** What the document client's marshaller refuses before a request leaves (it throws a plain Error). */
function assertMarshallable(value: unknown): void {
  if (value === undefined) {
    throw new Error("Pass options.removeUndefinedValues=true to remove undefined values from map/array/set.");
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new Error(`Special numeric value ${value} is not allowed`);
  }
  if (Array.isArray(value)) value.forEach(assertMarshallable);
  else if (value !== null && typeof value === "object") Object.values(value).forEach(assertMarshallable);
}

function approximateSize(item: FakeItem): number {
  return Object.entries(item).reduce(
    (total, [name, value]) =>
      total + Buffer.byteLength(name) + Buffer.byteLength(JSON.stringify(value) ?? ""),
    0,
  );
}

/** DynamoDB orders strings by their UTF-8 bytes (not by JavaScript's UTF-16 code units). */
function compareStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
