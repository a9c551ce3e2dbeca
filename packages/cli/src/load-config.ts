import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { TapestryError } from "@tapestry/core/errors";

/**
 * The config file could not be loaded at all: missing, not valid TypeScript, or it threw while it
 * was imported. The message names the file (with line:column where they are known); the error
 * that caused it is kept as `cause` for `--verbose`.
 */
export class ConfigLoadError extends TapestryError {
  override readonly name = "ConfigLoadError";
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Imports tapestry.config.ts (the CLI runs under tsx) and checks it. A file that cannot be loaded
 * is a ConfigLoadError, a config that is not valid a ConfigError listing every problem with its
 * path; nothing else escapes, whatever the file does.
 */
export async function loadConfig(file: string): Promise<TapestryConfig> {
  return parseConfig((await importConfig(file)).defaultExport, file);
}

/**
 * The config file's default export, not yet checked: a ConfigLoadError when the file is missing,
 * does not compile, throws while it is imported, or has no default export. Boxed: a default export
 * that is a Promise must reach the check as a Promise (an async function would await it).
 */
export async function importConfig(file: string): Promise<{ readonly defaultExport: unknown }> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new ConfigLoadError(
      file,
      `no config at ${path}: create tapestry.config.ts (see the README) or pass --config <file>`,
    );
  }
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw new ConfigLoadError(file, describeLoadFailure(file, path, error), { cause: error });
  }
  if (module.default === undefined) {
    throw new ConfigLoadError(
      file,
      `${file} has no default export: end it with \`export default defineConfig({...})\``,
    );
  }
  return { defaultExport: module.default };
}

interface Located {
  readonly line?: number;
  readonly column?: number;
}

/** One line that says what went wrong where, from whatever the import threw. */
export function describeLoadFailure(file: string, path: string, error: unknown): string {
  const syntax = esbuildSyntaxError(error, path);
  if (syntax) return `${at(file, syntax)}: syntax error: ${syntax.text}; fix it and run the command again`;
  if (error instanceof SyntaxError) {
    return `${at(file, stackLocation(error, path))}: syntax error: ${firstLine(error.message)}; fix it and run the command again`;
  }
  const where = stackLocation(error, path);
  if (where.line !== undefined) {
    return `${at(file, where)}: the config threw while it was loaded: ${describeThrown(error)}`;
  }
  return `${file}: the config could not be loaded: ${describeThrown(error)}`;
}

function at(file: string, { line, column }: Located): string {
  if (line === undefined) return file;
  return column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
}

/**
 * tsx compiles the file with esbuild and rethrows its failure as a TransformError whose message
 * lists `<file>:<line>:<column>: ERROR: <text>` (line 1-based, column 0-based, as esbuild counts);
 * esbuild's own error carries the same as `errors: [{ text, location }]`. The first one in the
 * config file, with a 1-based column as editors and stack traces count.
 */
function esbuildSyntaxError(error: unknown, path: string): (Located & { text: string }) | undefined {
  if (!(error instanceof Error)) return undefined;
  const inConfig = (file: string) => path.endsWith(file) || file.endsWith(path);
  if ("errors" in error && Array.isArray(error.errors)) {
    for (const message of error.errors as readonly unknown[]) {
      const { text, location } = (message ?? {}) as { text?: unknown; location?: unknown };
      const place = (location ?? {}) as { file?: unknown; line?: unknown; column?: unknown };
      if (typeof text !== "string" || (typeof place.file === "string" && !inConfig(place.file))) continue;
      return {
        text: firstLine(text),
        line: typeof place.line === "number" ? place.line : undefined,
        column: typeof place.column === "number" ? place.column + 1 : undefined,
      };
    }
  }
  for (const line of error.message.split("\n")) {
    const match = /^(.+?):(\d+):(\d+): ERROR: (.+)$/.exec(line);
    if (match?.[1] && inConfig(match[1])) {
      return { text: firstLine(match[4] ?? ""), line: Number(match[2]), column: Number(match[3]) + 1 };
    }
  }
  return undefined;
}

/** The first frame of the stack that points into the config file (tsx maps it to the source). */
function stackLocation(error: unknown, path: string): Located {
  const stack = error instanceof Error && typeof error.stack === "string" ? error.stack : "";
  for (const candidate of [pathToFileURL(path).href, path]) {
    const escaped = candidate.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const match = new RegExp(`${escaped}:(\\d+)(?::(\\d+))?`).exec(stack);
    if (match) return { line: Number(match[1]), column: match[2] ? Number(match[2]) : undefined };
  }
  return {};
}

function describeThrown(error: unknown): string {
  if (!(error instanceof Error))
    return `it threw ${typeof error === "string" ? JSON.stringify(firstLine(error)) : typeof error}`;
  const code = "code" in error && typeof error.code === "string" ? ` [${error.code}]` : "";
  return `${error.name}${code}: ${firstLine(error.message)}`;
}

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
