/**
 * Renders the little dbt Jinja a kickstart model uses, so the embedded warehouse can run a model
 * written for dbt Cloud: `{{ config(...) }}` is removed (its `materialized` is kept),
 * `{{ source('a', 'b') }}` and `{{ ref('m') }}` become table names, `{# comments #}` disappear.
 * Anything else (`{% if %}`, `{{ var(...) }}`, macros...) is refused with an error naming it:
 * this is not a Jinja engine, and guessing would run different SQL than dbt Cloud does.
 */

export type Materialization = "table" | "view";

export interface RenderModelOptions {
  /** `source('a', 'b')` -> the table it reads, keyed "a.b", valued "schema.table" */
  sources: Readonly<Record<string, string>>;
  /** `ref('m')` -> "schema.table"; a model not listed renders as its bare name */
  refs?: Readonly<Record<string, string>> | undefined;
  /** names the model in error messages (e.g. its file path) */
  model?: string | undefined;
}

export interface RenderedModel {
  /** the model's SELECT, without a trailing semicolon */
  sql: string;
  materialized: Materialization;
}

export class ModelRenderError extends Error {
  override readonly name = "ModelRenderError";
}

const SUPPORTED =
  "only {{ config(...) }}, {{ source('a', 'b') }}, {{ ref('m') }} and {# comments #} are supported";
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STRING_ARG = String.raw`\s*(?:'([^']*)'|"([^"]*)")\s*`;
const SOURCE_CALL = new RegExp(String.raw`^source\(${STRING_ARG},${STRING_ARG}\)$`);
const REF_CALL = new RegExp(String.raw`^ref\(${STRING_ARG}(?:,${STRING_ARG})?\)$`);
const CONFIG_CALL = /^config\(([\s\S]*)\)$/;
const MATERIALIZED_ARG = /(?:^|,)\s*materialized\s*=\s*(?:'([^']*)'|"([^"]*)")\s*(?=,|$)/;

/** Quotes "schema.table" (or "table") as a DuckDB/Snowflake identifier path; rejects anything else. */
export function quoteTableName(name: string): string {
  const parts = name.split(".");
  if (parts.length < 1 || parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part)))
    throw new ModelRenderError(
      `"${name}" is not a table name: expected "schema.table" or "table" (letters, digits, underscores)`,
    );
  return parts.map((part) => `"${part}"`).join(".");
}

export function renderModel(template: string, options: RenderModelOptions): RenderedModel {
  const where = options.model !== undefined ? ` in ${options.model}` : "";
  let materialized: Materialization = "table";
  let configSeen = false;
  let out = "";
  let at = 0;
  for (;;) {
    const open = template.slice(at).search(/\{[{%#]/);
    if (open < 0) {
      out += template.slice(at);
      break;
    }
    const start = at + open;
    out += template.slice(at, start);
    const kind = template[start + 1];
    const closer = kind === "{" ? "}}" : kind === "%" ? "%}" : "#}";
    const end = template.indexOf(closer, start + 2);
    const line = lineOf(template, start);
    if (end < 0)
      throw new ModelRenderError(
        `unclosed Jinja ${template.slice(start, start + 2)} at line ${line}${where}: expected a closing ${closer}`,
      );
    const construct = template.slice(start, end + 2);
    at = end + 2;
    if (kind === "#") continue;
    if (kind === "%") throw unsupported(construct, line, where);

    const expression = construct.slice(2, -2).replace(/^-/, "").replace(/-$/, "").trim();
    const config = CONFIG_CALL.exec(expression);
    if (config) {
      if (configSeen) throw new ModelRenderError(`a second {{ config(...) }} at line ${line}${where}`);
      configSeen = true;
      materialized = materializationOf(config[1] ?? "", line, where);
      continue;
    }
    const source = SOURCE_CALL.exec(expression);
    if (source) {
      const key = `${source[1] ?? source[2]}.${source[3] ?? source[4]}`;
      const table = options.sources[key];
      if (table === undefined) {
        const known = Object.keys(options.sources);
        throw new ModelRenderError(
          `{{ source(...) }} at line ${line}${where} reads "${key}", which is not bound to a table (bound: ${
            known.length > 0 ? known.join(", ") : "none"
          })`,
        );
      }
      out += quoteTableName(table);
      continue;
    }
    const ref = REF_CALL.exec(expression);
    if (ref) {
      // ref('package', 'model') names the model last
      const model = ref[3] !== undefined || ref[4] !== undefined ? (ref[3] ?? ref[4]) : (ref[1] ?? ref[2]);
      out += quoteTableName(options.refs?.[model ?? ""] ?? model ?? "");
      continue;
    }
    throw unsupported(construct, line, where);
  }
  const sql = out.trim().replace(/;\s*$/, "").trim();
  if (sql === "") throw new ModelRenderError(`the model${where} has no SQL after rendering`);
  return { sql, materialized };
}

function materializationOf(args: string, line: number, where: string): Materialization {
  const match = MATERIALIZED_ARG.exec(args.trim());
  if (!match) return "table";
  const value = match[1] ?? match[2];
  if (value === "table" || value === "view") return value;
  throw new ModelRenderError(
    `{{ config(materialized='${value}') }} at line ${line}${where} is not supported: the embedded warehouse builds models as 'table' or 'view'`,
  );
}

function unsupported(construct: string, line: number, where: string): ModelRenderError {
  const shown = construct.length > 80 ? `${construct.slice(0, 77)}...` : construct;
  return new ModelRenderError(
    `unsupported Jinja ${shown.replace(/\s+/g, " ")} at line ${line}${where}: the embedded warehouse renders no other dbt Jinja (${SUPPORTED})`,
  );
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
