import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { TapestryError } from "@tapestry/core/errors";

/** Imports tapestry.config.ts (the CLI runs under tsx) and checks it; every problem is reported with its path. */
export async function loadConfig(file: string): Promise<TapestryConfig> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new TapestryError(
      `no config at ${path}: create tapestry.config.ts (see the README) or pass --config <file>`,
    );
  }
  const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  if (module.default === undefined) {
    throw new TapestryError(
      `${file} has no default export: end it with \`export default defineConfig({...})\``,
    );
  }
  return parseConfig(module.default, file);
}
