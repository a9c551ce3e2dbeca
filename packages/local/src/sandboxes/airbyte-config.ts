import { randomUUID } from "node:crypto";
import { type ConnectorKind, connectorSpec, typeField } from "@tapestry/core/provisioning/airbyte";
import {
  isRecord,
  many,
  parseInteger,
  type Route,
  type SandboxRequest,
  type SandboxResponse,
  single,
} from "./server";

/**
 * The configuration half of the Airbyte sandbox: workspaces, sources, destinations and
 * connections as Airbyte's public API v1 keeps them (list by workspace with limit/offset, create,
 * get, PATCH). A configuration is checked against its connector's official schema, as Airbyte
 * checks it (400 otherwise), and answers carry every secret field masked as "**********", as
 * Airbyte's do: a secret goes in and never comes out.
 */

export const MASKED_SECRET = "**********";

/** The connector definitions' ids Airbyte answers (any stable UUID per type does for the sandbox). */
const DEFINITION_IDS: Readonly<Record<string, string>> = {
  "source:zoom": "cbfd9856-1322-44fb-bcf1-0b39b7a8e92e",
  "source:salesforce": "b117307c-14b6-41aa-9422-947e34922962",
  "destination:snowflake": "424892c4-daac-4491-b35d-c6688ba547ba",
};

export interface SandboxWorkspace {
  workspaceId: string;
  name: string;
  dataResidency: string;
  notifications: Record<string, unknown>;
}

export interface SandboxActor {
  id: string;
  name: string;
  type: string;
  definitionId: string;
  workspaceId: string;
  /** as sent, secrets included: what a sync would use */
  configuration: Record<string, unknown>;
  createdAt: number;
}

export interface SandboxConnection {
  connectionId: string;
  name: string;
  sourceId: string;
  destinationId: string;
  workspaceId: string;
  status: string;
  schedule: { scheduleType: string; cronExpression?: string };
  namespaceDefinition: string;
  namespaceFormat?: string;
  prefix: string;
  nonBreakingSchemaUpdatesBehavior: string;
  configurations: { streams: Record<string, unknown>[] };
  createdAt: number;
  tags: unknown[];
}

/** What the sandbox holds, for tests to look at (and to seed, e.g. two sources of one name). */
export interface AirbyteConfigurationState {
  readonly workspaces: Map<string, SandboxWorkspace>;
  readonly sources: Map<string, SandboxActor>;
  readonly destinations: Map<string, SandboxActor>;
  readonly connections: Map<string, SandboxConnection>;
}

export function emptyConfigurationState(): AirbyteConfigurationState {
  return { workspaces: new Map(), sources: new Map(), destinations: new Map(), connections: new Map() };
}

type Problem = (status: number, detail: string) => SandboxResponse;

const ok = (body: unknown): SandboxResponse => ({ status: 200, body });

/** The routes, their operation ids as in Airbyte's spec (scenario rules match them). */
export function airbyteConfigurationRoutes(
  state: AirbyteConfigurationState,
  problem: Problem,
  baseUrl: () => string,
): Route[] {
  const page = <T>(request: SandboxRequest, all: readonly T[], path: string): SandboxResponse => {
    const limit = single(request.query.limit) === undefined ? 20 : parseInteger(single(request.query.limit));
    if (limit === undefined || limit < 1 || limit > 100)
      return problem(400, "limit must be an integer 1..100.");
    const offset =
      single(request.query.offset) === undefined ? 0 : parseInteger(single(request.query.offset));
    if (offset === undefined || offset < 0) return problem(400, "offset must be an integer >= 0.");
    const body: { data: T[]; next?: string; previous?: string } = { data: all.slice(offset, offset + limit) };
    const link = (at: number) => {
      const params = new URLSearchParams();
      for (const id of many(request.query.workspaceIds)) params.append("workspaceIds", id);
      params.set("limit", String(limit));
      params.set("offset", String(at));
      return `${baseUrl()}${path}?${params}`;
    };
    if (offset + limit < all.length) body.next = link(offset + limit);
    if (offset > 0) body.previous = link(Math.max(0, offset - limit));
    return ok(body);
  };
  const inWorkspaces = (request: SandboxRequest) => {
    const ids = many(request.query.workspaceIds);
    return (workspaceId: string) => ids.length === 0 || ids.includes(workspaceId);
  };

  const actorRoutes = (kind: ConnectorKind): Route[] => {
    const plural = kind === "source" ? "sources" : "destinations";
    const title = kind === "source" ? "Source" : "Destination";
    const store = kind === "source" ? state.sources : state.destinations;
    const view = (actor: SandboxActor) => ({
      [`${kind}Id`]: actor.id,
      name: actor.name,
      [typeField(kind)]: actor.type,
      definitionId: actor.definitionId,
      workspaceId: actor.workspaceId,
      configuration: masked(kind, actor.type, actor.configuration),
      createdAt: actor.createdAt,
    });
    const find = (request: SandboxRequest): SandboxActor | SandboxResponse =>
      store.get(request.params[0] ?? "") ??
      problem(404, `Could not find a resource for: ${request.params[0]}`);
    /** The configuration checked against its connector's schema: the actor's type, or a 400. */
    const checked = (configuration: unknown, expectedType?: string): string | SandboxResponse => {
      if (!isRecord(configuration)) return problem(400, "configuration must be an object.");
      const type = configuration[typeField(kind)];
      if (typeof type !== "string") return problem(400, `configuration.${typeField(kind)} is required.`);
      if (expectedType !== undefined && type !== expectedType)
        return problem(400, `configuration.${typeField(kind)} cannot change (${expectedType}).`);
      const spec = connectorSpec(kind, type);
      if (!spec) return problem(400, `Unknown ${kind} type: ${type}.`);
      const result = spec.validator().safeParse(configuration);
      if (!result.success) {
        const where = result.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
        return problem(400, `The configuration does not match the ${spec.specName} spec at: ${where}.`);
      }
      return type;
    };
    return [
      {
        method: "GET",
        pattern: new RegExp(`^/${plural}/?$`),
        operation: `list${title}s`,
        handle: (request) => {
          const wanted = inWorkspaces(request);
          return page(
            request,
            [...store.values()].filter((a) => wanted(a.workspaceId)).map(view),
            `/${plural}`,
          );
        },
      },
      {
        method: "POST",
        pattern: new RegExp(`^/${plural}/?$`),
        operation: `create${title}`,
        handle: (request) => {
          const body = request.body;
          if (!isRecord(body)) return problem(400, "The body must be an object.");
          if (typeof body.name !== "string" || body.name === "") return problem(400, "name is required.");
          if (typeof body.workspaceId !== "string" || !state.workspaces.has(body.workspaceId))
            return problem(400, "workspaceId must name a workspace.");
          const type = checked(body.configuration);
          if (typeof type !== "string") return type;
          const actor: SandboxActor = {
            id: randomUUID(),
            name: body.name,
            type,
            definitionId: DEFINITION_IDS[`${kind}:${type}`] ?? randomUUID(),
            workspaceId: body.workspaceId,
            configuration: structuredClone(body.configuration as Record<string, unknown>),
            createdAt: Math.floor(Date.now() / 1000),
          };
          store.set(actor.id, actor);
          return ok(view(actor));
        },
      },
      {
        method: "GET",
        pattern: new RegExp(`^/${plural}/([^/]+)/?$`),
        operation: `get${title}`,
        handle: (request) => {
          const actor = find(request);
          return "status" in actor ? actor : ok(view(actor));
        },
      },
      {
        method: "PATCH",
        pattern: new RegExp(`^/${plural}/([^/]+)/?$`),
        operation: `patch${title}`,
        handle: (request) => {
          const actor = find(request);
          if ("status" in actor) return actor;
          const body = request.body;
          if (!isRecord(body)) return problem(400, "The body must be an object.");
          if (body.name !== undefined) {
            if (typeof body.name !== "string" || body.name === "") return problem(400, "name must be text.");
            actor.name = body.name;
          }
          if (body.configuration !== undefined) {
            const type = checked(body.configuration, actor.type);
            if (typeof type !== "string") return type;
            actor.configuration = structuredClone(body.configuration as Record<string, unknown>);
          }
          return ok(view(actor));
        },
      },
    ];
  };

  const connectionView = (connection: SandboxConnection) => structuredClone(connection);
  const findConnection = (request: SandboxRequest): SandboxConnection | SandboxResponse =>
    state.connections.get(request.params[0] ?? "") ??
    problem(404, `Could not find a resource for: ${request.params[0]}`);
  /** The fields a create and a PATCH share, applied to `connection`; a 400 when one is wrong. */
  const applyConnectionFields = (
    connection: SandboxConnection,
    body: Record<string, unknown>,
  ): SandboxResponse | undefined => {
    if (body.name !== undefined) {
      if (typeof body.name !== "string") return problem(400, "name must be text.");
      connection.name = body.name;
    }
    if (body.schedule !== undefined) {
      const schedule = body.schedule;
      if (!isRecord(schedule) || (schedule.scheduleType !== "manual" && schedule.scheduleType !== "cron"))
        return problem(400, "schedule.scheduleType must be manual or cron.");
      if (schedule.scheduleType === "cron" && typeof schedule.cronExpression !== "string")
        return problem(400, "schedule.cronExpression is required for a cron schedule.");
      connection.schedule =
        schedule.scheduleType === "cron"
          ? { scheduleType: "cron", cronExpression: String(schedule.cronExpression) }
          : { scheduleType: "manual" };
    }
    for (const field of ["namespaceDefinition", "namespaceFormat", "prefix", "status"] as const) {
      const value = body[field];
      if (value === undefined) continue;
      if (typeof value !== "string") return problem(400, `${field} must be text.`);
      connection[field] = value;
    }
    if (body.configurations !== undefined) {
      const streams = isRecord(body.configurations) ? body.configurations.streams : undefined;
      if (!Array.isArray(streams) || !streams.every((s) => isRecord(s) && typeof s.name === "string"))
        return problem(400, "configurations.streams must be a list of streams, each with a name.");
      connection.configurations = { streams: structuredClone(streams as Record<string, unknown>[]) };
    }
    return undefined;
  };

  return [
    {
      method: "GET",
      pattern: /^\/workspaces\/?$/,
      operation: "listWorkspaces",
      handle: (request) => {
        const wanted = inWorkspaces(request);
        return page(
          request,
          [...state.workspaces.values()].filter((w) => wanted(w.workspaceId)),
          "/workspaces",
        );
      },
    },
    {
      method: "POST",
      pattern: /^\/workspaces\/?$/,
      operation: "createWorkspace",
      handle: (request) => {
        const body = request.body;
        if (!isRecord(body) || typeof body.name !== "string" || body.name === "")
          return problem(400, "name is required.");
        const workspace: SandboxWorkspace = {
          workspaceId: randomUUID(),
          name: body.name,
          dataResidency: "auto",
          notifications: {},
        };
        state.workspaces.set(workspace.workspaceId, workspace);
        return ok(workspace);
      },
    },
    ...actorRoutes("source"),
    ...actorRoutes("destination"),
    {
      method: "GET",
      pattern: /^\/connections\/?$/,
      operation: "listConnections",
      handle: (request) => {
        const wanted = inWorkspaces(request);
        return page(
          request,
          [...state.connections.values()].filter((c) => wanted(c.workspaceId)).map(connectionView),
          "/connections",
        );
      },
    },
    {
      method: "POST",
      pattern: /^\/connections\/?$/,
      operation: "createConnection",
      handle: (request) => {
        const body = request.body;
        if (!isRecord(body)) return problem(400, "The body must be an object.");
        const source = state.sources.get(String(body.sourceId));
        const destination = state.destinations.get(String(body.destinationId));
        if (!source) return problem(400, "sourceId must name a source.");
        if (!destination) return problem(400, "destinationId must name a destination.");
        if (source.workspaceId !== destination.workspaceId)
          return problem(400, "The source and the destination are in different workspaces.");
        const connection: SandboxConnection = {
          connectionId: randomUUID(),
          name: `${source.name} → ${destination.name}`,
          sourceId: source.id,
          destinationId: destination.id,
          workspaceId: source.workspaceId,
          status: "active",
          schedule: { scheduleType: "manual" },
          namespaceDefinition: "destination",
          prefix: "",
          nonBreakingSchemaUpdatesBehavior: "ignore",
          configurations: { streams: [] },
          createdAt: Math.floor(Date.now() / 1000),
          tags: [],
        };
        const refused = applyConnectionFields(connection, body);
        if (refused) return refused;
        state.connections.set(connection.connectionId, connection);
        return ok(connectionView(connection));
      },
    },
    {
      method: "GET",
      pattern: /^\/connections\/([^/]+)\/?$/,
      operation: "getConnection",
      handle: (request) => {
        const connection = findConnection(request);
        return "connectionId" in connection ? ok(connectionView(connection)) : connection;
      },
    },
    {
      method: "PATCH",
      pattern: /^\/connections\/([^/]+)\/?$/,
      operation: "patchConnection",
      handle: (request) => {
        const connection = findConnection(request);
        if (!("connectionId" in connection)) return connection;
        if (!isRecord(request.body)) return problem(400, "The body must be an object.");
        const updated = structuredClone(connection);
        const refused = applyConnectionFields(updated, request.body);
        if (refused) return refused;
        state.connections.set(updated.connectionId, updated);
        return ok(connectionView(updated));
      },
    },
  ];
}

/** The configuration as Airbyte answers it: every secret field of its connector masked. */
function masked(kind: ConnectorKind, type: string, configuration: Record<string, unknown>) {
  const copy = structuredClone(configuration);
  for (const field of connectorSpec(kind, type)?.secretFields ?? []) {
    const keys = field.split(".");
    let node: unknown = copy;
    for (const key of keys.slice(0, -1)) node = isRecord(node) ? node[key] : undefined;
    const last = keys.at(-1) ?? field;
    if (isRecord(node) && node[last] !== undefined) node[last] = MASKED_SECRET;
  }
  return copy;
}
