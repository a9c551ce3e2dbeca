/** Small helpers shared by the sandbox tests (starting and closing, plain fetch, polling). */
import { afterEach } from "vitest";

interface SandboxOptionsLike {
  readonly scenario?: { readonly defaults?: object | undefined } | undefined;
}

/**
 * The `start` of a sandbox test file: the sandbox runs the file's `fast` lifecycle under the
 * defaults the test gives, and is closed after the test that started it.
 */
export function sandboxStarter<O extends SandboxOptionsLike, S extends { close(): Promise<void> }>(
  startSandbox: (options?: O) => Promise<S>,
  fast: object,
): (options?: O) => Promise<S> {
  let started: S | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });
  // every field of a sandbox's options is optional: none is the default
  return async (options = {} as O) => {
    started = await startSandbox({
      ...options,
      scenario: { ...options.scenario, defaults: { ...fast, ...options.scenario?.defaults } },
    });
    return started;
  };
}

export interface JsonAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = unknown>(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonAnswer<T>> {
  const headers: Record<string, string> = { accept: "application/json", ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: (text === "" ? undefined : JSON.parse(text)) as T,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `read` every `everyMs` until `done` says so; returns the distinct values seen, in order
 * (consecutive duplicates collapsed), so a test can assert a whole status sequence.
 */
export async function trace<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { everyMs = 10, timeoutMs = 3000 } = {},
): Promise<T[]> {
  const seen: T[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (seen.length === 0 || JSON.stringify(seen[seen.length - 1]) !== JSON.stringify(value))
      seen.push(value);
    if (done(value)) return seen;
    if (Date.now() > deadline) throw new Error(`timed out; saw ${JSON.stringify(seen)}`);
    await sleep(everyMs);
  }
}

/** Waits until `check` holds (polling every 10 ms), for a state the sandbox reaches on its own timers. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  await trace(
    async () => check(),
    (holds) => holds,
    { timeoutMs },
  );
}

export const CONNECTION = "9e5bd6c1-1f3c-4d3a-8b55-2f9f1f7a0c11";
export const OTHER_CONNECTION = "3b0d7d4e-7f57-4a43-a6a9-0e1a4c2b5d77";
