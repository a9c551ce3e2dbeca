import * as z from "zod";
import { parseAnswer } from "../../connectors/answer";
import type { HttpClient } from "../../http";

/**
 * Airbyte's public API v1 for the objects provisioning ensures: workspaces, sources, destinations
 * and connections (list by workspace, create, PATCH). Only the fields Tapestry reads are parsed;
 * everything else in an answer is kept as it came. Reads and PATCHes are idempotent (the HTTP
 * client retries them); a create is not, so the caller lists again before creating a second time.
 */

const PAGE_SIZE = 100;
/** More objects than this of one kind in a workspace is not a workspace Tapestry manages: stop paging. */
const MAX_PAGES = 50;

const record = z.record(z.string(), z.unknown());

export const workspaceAnswer = z.looseObject({ workspaceId: z.string(), name: z.string() });
export const sourceAnswer = z.looseObject({
  sourceId: z.string(),
  name: z.string(),
  sourceType: z.string(),
  workspaceId: z.string(),
  configuration: record.default({}),
});
export const destinationAnswer = z.looseObject({
  destinationId: z.string(),
  name: z.string(),
  destinationType: z.string(),
  workspaceId: z.string(),
  configuration: record.default({}),
});
const streamAnswer = z.looseObject({
  name: z.string(),
  syncMode: z.string().optional(),
  cursorField: z.array(z.string()).optional(),
  primaryKey: z.array(z.array(z.string())).optional(),
});
export const connectionAnswer = z.looseObject({
  connectionId: z.string(),
  name: z.string(),
  sourceId: z.string(),
  destinationId: z.string(),
  workspaceId: z.string(),
  schedule: z.looseObject({ scheduleType: z.string(), cronExpression: z.string().optional() }),
  namespaceDefinition: z.string().optional(),
  namespaceFormat: z.string().optional(),
  prefix: z.string().optional(),
  configurations: z.looseObject({ streams: z.array(streamAnswer).default([]) }).default({ streams: [] }),
});

export type WorkspaceAnswer = z.output<typeof workspaceAnswer>;
export type SourceAnswer = z.output<typeof sourceAnswer>;
export type DestinationAnswer = z.output<typeof destinationAnswer>;
export type ConnectionAnswer = z.output<typeof connectionAnswer>;

const pageOf = <T extends z.ZodType>(item: T) =>
  z.looseObject({ data: z.array(item), next: z.string().optional() });

interface Collection<T extends z.ZodType> {
  readonly path: string;
  readonly what: string;
  readonly item: T;
}

const WORKSPACES = { path: "/workspaces", what: "workspace", item: workspaceAnswer } as const;
const SOURCES = { path: "/sources", what: "source", item: sourceAnswer } as const;
const DESTINATIONS = { path: "/destinations", what: "destination", item: destinationAnswer } as const;
const CONNECTIONS = { path: "/connections", what: "connection", item: connectionAnswer } as const;

export class AirbyteConfigClient {
  constructor(
    private readonly http: HttpClient,
    private readonly deadline: () => number | undefined,
    /** the secret values the objects' configurations carry: an answer that echoes one never repeats it */
    private readonly secrets: readonly string[] = [],
  ) {}

  listWorkspaces(): Promise<WorkspaceAnswer[]> {
    return this.list(WORKSPACES, undefined);
  }
  createWorkspace(name: string): Promise<WorkspaceAnswer> {
    return this.create(WORKSPACES, { name });
  }

  listSources(workspaceId: string): Promise<SourceAnswer[]> {
    return this.list(SOURCES, workspaceId);
  }
  createSource(body: { name: string; workspaceId: string; configuration: object }): Promise<SourceAnswer> {
    return this.create(SOURCES, body);
  }
  patchSource(id: string, body: { name: string; configuration: object }): Promise<SourceAnswer> {
    return this.patch(SOURCES, id, body);
  }

  listDestinations(workspaceId: string): Promise<DestinationAnswer[]> {
    return this.list(DESTINATIONS, workspaceId);
  }
  createDestination(body: {
    name: string;
    workspaceId: string;
    configuration: object;
  }): Promise<DestinationAnswer> {
    return this.create(DESTINATIONS, body);
  }
  patchDestination(id: string, body: { name: string; configuration: object }): Promise<DestinationAnswer> {
    return this.patch(DESTINATIONS, id, body);
  }

  listConnections(workspaceId: string): Promise<ConnectionAnswer[]> {
    return this.list(CONNECTIONS, workspaceId);
  }
  createConnection(body: object): Promise<ConnectionAnswer> {
    return this.create(CONNECTIONS, body);
  }
  patchConnection(id: string, body: object): Promise<ConnectionAnswer> {
    return this.patch(CONNECTIONS, id, body);
  }

  /** Every object of a collection (of one workspace), following the pages. */
  private async list<T extends z.ZodType>(
    collection: Collection<T>,
    workspaceId: string | undefined,
  ): Promise<z.output<T>[]> {
    const all: z.output<T>[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const response = await this.http.request({
        operation: `list ${collection.what}s`,
        method: "GET",
        path: collection.path,
        query: {
          ...(workspaceId === undefined ? {} : { workspaceIds: workspaceId }),
          limit: PAGE_SIZE,
          offset: page * PAGE_SIZE,
        },
        deadline: this.deadline(),
      });
      const answer = parseAnswer(
        "airbyte",
        `the ${collection.what} list`,
        pageOf(collection.item),
        response.body,
      );
      all.push(...answer.data);
      if (answer.next === undefined || answer.data.length < PAGE_SIZE) break;
    }
    return all;
  }

  private async create<T extends z.ZodType>(collection: Collection<T>, body: object): Promise<z.output<T>> {
    const response = await this.http.request({
      operation: `create ${collection.what}`,
      method: "POST",
      path: collection.path,
      body,
      deadline: this.deadline(),
      secrets: this.secrets,
    });
    return parseAnswer("airbyte", `the ${collection.what} create`, collection.item, response.body);
  }

  private async patch<T extends z.ZodType>(
    collection: Collection<T>,
    id: string,
    body: object,
  ): Promise<z.output<T>> {
    const response = await this.http.request({
      operation: `update ${collection.what}`,
      method: "PATCH",
      path: `${collection.path}/${encodeURIComponent(id)}`,
      body,
      deadline: this.deadline(),
      secrets: this.secrets,
    });
    return parseAnswer("airbyte", `the ${collection.what} update`, collection.item, response.body);
  }
}
