import { ToolUnavailableError } from "../../errors";
import type { ToolObjectAction } from "../../events";
import { ToolObjectConflictError } from "../errors";
import type { AirbyteObjectKind, ProvisionedObject, ProvisionedObjects } from "../store";
import type { AirbyteConfigClient, ConnectionAnswer, DestinationAnswer, SourceAnswer } from "./client";
import { type ConnectorKind, typeField } from "./connectors";
import type { DesiredActor, DesiredAirbyteState, DesiredConnection } from "./desired";

/**
 * Ensures Airbyte holds what the config declares, by name: the workspace, the destination, the
 * sources, then the connections. Each object is created when absent, updated (PATCH) when
 * different, and left alone when equal; its id is recorded. "Different" is decided on what can be
 * read back: the declared settings against Airbyte's answer (where Airbyte masks secrets), and the
 * secrets by the hash recorded beside the id when they were last sent. A name two objects share,
 * an object of another type, or a connection reading another source stops the run (nothing is
 * guessed or deleted), naming the ids.
 *
 * Re-running is safe at any point: every step looks before it writes, so what an earlier, failed
 * run created is found (and recorded) rather than created twice.
 */

export interface EnsuredObject {
  readonly kind: AirbyteObjectKind;
  readonly name: string;
  readonly id: string;
  readonly action: Exclude<ToolObjectAction, "deleted">;
  /** for an update: the settings that differed; "secrets" for a changed secret (never which value) */
  readonly changes?: readonly string[];
}

export interface EnsureAirbyteDeps {
  readonly client: AirbyteConfigClient;
  readonly objects: ProvisionedObjects;
  readonly now: () => Date;
  /** told of each object as soon as it is ensured (the task publishes ToolConfigured) */
  readonly onObject?: (object: EnsuredObject) => Promise<void>;
}

export async function ensureAirbyteObjects(
  desired: DesiredAirbyteState,
  deps: EnsureAirbyteDeps,
): Promise<readonly EnsuredObject[]> {
  const ensured: EnsuredObject[] = [];
  const done = async (object: EnsuredObject, secretsHash?: string) => {
    await record(deps, object, secretsHash);
    ensured.push(object);
    await deps.onObject?.(object);
    return object;
  };

  const workspace = await ensureWorkspace(desired.workspace, deps.client);
  await done(workspace);
  const workspaceId = workspace.id;

  const destination = await ensureActor(desired.destination, workspaceId, deps);
  await done(destination, desired.destination.secretsHash);
  const sourceIds = new Map<string, string>();
  for (const source of desired.sources) {
    const ensuredSource = await ensureActor(source, workspaceId, deps);
    sourceIds.set(source.name, ensuredSource.id);
    await done(ensuredSource, source.secretsHash);
  }
  if (desired.connections.length > 0) {
    const live = await deps.client.listConnections(workspaceId);
    for (const connection of desired.connections) {
      const sourceId = sourceIds.get(connection.source);
      if (sourceId === undefined)
        throw new Error(`connection ${connection.name}: source ${connection.source} was not ensured`);
      await done(
        await ensureConnection(connection, sourceId, destination.id, workspaceId, live, deps.client),
      );
    }
  }
  return ensured;
}

async function ensureWorkspace(name: string, client: AirbyteConfigClient): Promise<EnsuredObject> {
  const find = async () =>
    single(
      "workspace",
      name,
      (await client.listWorkspaces()).filter((w) => w.name === name),
      (w) => w.workspaceId,
    );
  const found = await find();
  if (found) return { kind: "workspace", name, id: found.workspaceId, action: "unchanged" };
  const created = await createOnce(find, () => client.createWorkspace(name));
  return { kind: "workspace", name, id: created.workspaceId, action: "created" };
}

type ActorAnswer = SourceAnswer | DestinationAnswer;

function actorId(kind: ConnectorKind, actor: ActorAnswer): string {
  return kind === "source" ? (actor as SourceAnswer).sourceId : (actor as DestinationAnswer).destinationId;
}

function actorType(kind: ConnectorKind, actor: ActorAnswer): string {
  return kind === "source"
    ? (actor as SourceAnswer).sourceType
    : (actor as DestinationAnswer).destinationType;
}

async function ensureActor(
  desired: DesiredActor,
  workspaceId: string,
  deps: EnsureAirbyteDeps,
): Promise<EnsuredObject> {
  const { client } = deps;
  const { kind, name } = desired;
  const list = async (): Promise<ActorAnswer[]> =>
    kind === "source" ? client.listSources(workspaceId) : client.listDestinations(workspaceId);
  const find = async () =>
    single(
      kind,
      name,
      (await list()).filter((a) => a.name === name),
      (a) => actorId(kind, a),
    );
  const body = { name, configuration: desired.configuration };
  const found = await find();
  if (!found) {
    const created = await createOnce(find, () =>
      kind === "source"
        ? client.createSource({ ...body, workspaceId })
        : client.createDestination({ ...body, workspaceId }),
    );
    return { kind, name, id: actorId(kind, created), action: "created" };
  }
  const id = actorId(kind, found);
  const type = actorType(kind, found);
  if (type !== desired.type) {
    throw new ToolObjectConflictError(
      "airbyte",
      `the Airbyte ${kind} named "${name}" (${id}) is a ${type} ${kind}, but the config declares a ${desired.type} ${kind} of that name: rename one of them`,
      [id],
    );
  }
  const changes = settingsChanges(desired.configuration, found.configuration, desired.secretPaths, [
    typeField(kind),
  ]);
  const recorded = await deps.objects.get(kind, name);
  // never read back: a secret is known unchanged only by the hash recorded for this very object
  if (
    desired.secretsHash !== undefined &&
    (recorded?.id !== id || recorded.secretsHash !== desired.secretsHash)
  ) {
    changes.push("secrets");
  }
  if (changes.length === 0) return { kind, name, id, action: "unchanged" };
  if (kind === "source") await client.patchSource(id, body);
  else await client.patchDestination(id, body);
  return { kind, name, id, action: "updated", changes };
}

async function ensureConnection(
  desired: DesiredConnection,
  sourceId: string,
  destinationId: string,
  workspaceId: string,
  live: readonly ConnectionAnswer[],
  client: AirbyteConfigClient,
): Promise<EnsuredObject> {
  const { name } = desired;
  const fields = {
    schedule: desired.schedule,
    namespaceDefinition: desired.namespaceDefinition,
    ...(desired.namespaceFormat === undefined ? {} : { namespaceFormat: desired.namespaceFormat }),
    prefix: desired.prefix,
    configurations: { streams: desired.streams },
  };
  const find = async (connections: readonly ConnectionAnswer[]) =>
    single(
      "connection",
      name,
      connections.filter((c) => c.name === name),
      (c) => c.connectionId,
    );
  const found = await find(live);
  if (!found) {
    const created = await createOnce(
      async () => find(await client.listConnections(workspaceId)),
      () => client.createConnection({ name, sourceId, destinationId, ...fields }),
    );
    return { kind: "connection", name, id: created.connectionId, action: "created" };
  }
  const id = found.connectionId;
  if (found.sourceId !== sourceId || found.destinationId !== destinationId) {
    throw new ToolObjectConflictError(
      "airbyte",
      `the Airbyte connection "${name}" (${id}) reads source ${found.sourceId} into destination ${found.destinationId}, but the config says source "${desired.source}" (${sourceId}) into ${destinationId}: Airbyte cannot move a connection, so delete it in Airbyte (or rename it in the config) and provision again`,
      [id],
    );
  }
  const changes = connectionChanges(desired, found);
  if (changes.length === 0) return { kind: "connection", name, id, action: "unchanged" };
  await client.patchConnection(id, fields);
  return { kind: "connection", name, id, action: "updated", changes };
}

function connectionChanges(desired: DesiredConnection, live: ConnectionAnswer): string[] {
  const changes: string[] = [];
  const schedule = live.schedule;
  const liveCron = schedule.scheduleType === "cron" ? schedule.cronExpression : undefined;
  const wantedCron = desired.schedule.scheduleType === "cron" ? desired.schedule.cronExpression : undefined;
  if (schedule.scheduleType !== desired.schedule.scheduleType || liveCron !== wantedCron)
    changes.push("schedule");
  if ((live.namespaceDefinition ?? "destination") !== desired.namespaceDefinition) changes.push("namespace");
  else if (desired.namespaceFormat !== undefined && live.namespaceFormat !== desired.namespaceFormat)
    changes.push("namespace");
  if ((live.prefix ?? "") !== desired.prefix) changes.push("prefix");
  const stream = (s: DesiredConnection["streams"][number]) =>
    canonical({ name: s.name, syncMode: s.syncMode, cursorField: s.cursorField, primaryKey: s.primaryKey });
  const wanted = desired.streams.map(stream).sort();
  const have = live.configurations.streams
    .map((s) =>
      stream({
        name: s.name,
        syncMode: s.syncMode ?? "",
        cursorField: s.cursorField,
        primaryKey: s.primaryKey,
      }),
    )
    .sort();
  if (canonical(wanted) !== canonical(have)) changes.push("streams");
  return changes;
}

/**
 * The declared settings that differ from Airbyte's answer, as dotted paths. Secrets are skipped
 * (Airbyte masks them); settings Airbyte has and the config does not name are left alone.
 */
export function settingsChanges(
  desired: Readonly<Record<string, unknown>>,
  live: Readonly<Record<string, unknown>>,
  secretPaths: readonly string[],
  ignore: readonly string[] = [],
): string[] {
  const changes: string[] = [];
  const visit = (wanted: Readonly<Record<string, unknown>>, have: unknown, at: readonly string[]) => {
    const haveObject =
      typeof have === "object" && have !== null && !Array.isArray(have)
        ? (have as Record<string, unknown>)
        : {};
    for (const [key, value] of Object.entries(wanted)) {
      const path = [...at, key].join(".");
      if (secretPaths.includes(path) || ignore.includes(path)) continue;
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        visit(value as Record<string, unknown>, haveObject[key], [...at, key]);
      } else if (canonical(value) !== canonical(haveObject[key])) {
        changes.push(path);
      }
    }
  };
  visit(desired, live, []);
  return changes;
}

/** JSON with object keys sorted, so equal data compares equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

/** The one object of a name, undefined for none; two or more stop the run naming every id. */
function single<T>(
  kind: string,
  name: string,
  matches: readonly T[],
  idOf: (item: T) => string,
): T | undefined {
  if (matches.length > 1) {
    const ids = matches.map(idOf);
    throw new ToolObjectConflictError(
      "airbyte",
      `${matches.length} Airbyte ${kind}s are named "${name}" (${ids.join(", ")}): Tapestry ensures objects by name, so delete or rename all but one in Airbyte and provision again`,
      ids,
    );
  }
  return matches[0];
}

/**
 * Creates an object once: a create that may have reached Airbyte unseen (a timeout, a 5xx after
 * sending) is followed by a look for the object, and only what is found is used; when it is not
 * found, the error goes up and the state machine retries the whole step, which looks first.
 */
async function createOnce<T>(find: () => Promise<T | undefined>, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (!(error instanceof ToolUnavailableError) || !error.detail.ambiguous) throw error;
    const found = await find().catch(() => undefined);
    if (found === undefined) throw error;
    return found;
  }
}

async function record(deps: EnsureAirbyteDeps, object: EnsuredObject, secretsHash?: string): Promise<void> {
  const recorded = await deps.objects.get(object.kind, object.name);
  if (recorded && recorded.id === object.id && recorded.secretsHash === secretsHash) return;
  const next: ProvisionedObject = {
    kind: object.kind,
    name: object.name,
    id: object.id,
    ...(secretsHash === undefined ? {} : { secretsHash }),
    updatedAt: deps.now().toISOString(),
  };
  await deps.objects.put(next);
}
