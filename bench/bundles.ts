import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { parseConfig } from "@tapestry/core/config";
import { Function as SstFunction } from "sst/constructs";
import { useProject } from "sst/project.js";
import {
  bundleFunction,
  deployedEntries,
  FUNCTION_BUNDLE_LIMIT_BYTES,
  type FunctionBundle,
} from "../stacks/bundling";
import { synthesizeOffline } from "../stacks/offline-synth";
import kickstart from "../tapestry.config";
import { percentile } from "./stats";

/**
 * Every deployed function's bundle, as SST builds it (stacks/bundling.ts, the kickstart config
 * inlined): its size beside the limit, gzipped, and what loading it costs a fresh Node process
 * (Lambda's cold start, the part that is ours), beside a bare `node` start. The AWS SDK is not in
 * the bundles (the Lambda runtime provides it): the load includes importing the clients a
 * function uses from node_modules, as the runtime imports its own. Then one offline synth, to
 * check the bytes are the ones SST deploys. Prints figures only.
 */

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, ".sst", "bench-bundles");
const LOADS = 7;

export async function benchBundles(): Promise<string[]> {
  const config = parseConfig(structuredClone(kickstart));
  const bundles = await Promise.all(
    deployedEntries(ROOT).map((entry) => bundleFunction(ROOT, entry, { config })),
  );
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const bare = Array.from({ length: LOADS }, () => nodeStartMs());
  const bareMedian = percentile(bare, 50);
  const lines = [
    `bare node start (node -e "", ${LOADS} runs): median ${bareMedian.toFixed(0)} ms, p95 ${percentile(bare, 95).toFixed(0)} ms; limit ${FUNCTION_BUNDLE_LIMIT_BYTES.toLocaleString("en")} bytes minified per function`,
  ];
  for (const bundle of bundles) {
    const file = join(OUT, `${bundle.entry}.mjs`);
    writeFileSync(file, bundle.code);
    const loads = Array.from({ length: LOADS }, () => moduleLoad(file));
    const imports = loads.map((load) => load.importMs);
    const starts = loads.map((load) => load.processMs);
    lines.push(
      `bundle ${bundle.entry}: ${kib(bundle.code.length)} minified (${kib(gzipSync(bundle.code).length)} gzipped), imports ${bundle.externalImports.join(" ") || "no SDK client"}; import median ${percentile(imports, 50).toFixed(0)} ms (p95 ${percentile(imports, 95).toFixed(0)} ms); node start + import median ${percentile(starts, 50).toFixed(0)} ms, +${(percentile(starts, 50) - bareMedian).toFixed(0)} ms over bare node`,
    );
  }
  rmSync(OUT, { recursive: true, force: true });
  lines.push(await sameAsSynthesized(bundles));
  return lines;
}

/** The synthesized app's bundles (SST's own build, .sst/artifacts) against the ones measured above. */
async function sameAsSynthesized(bundles: readonly FunctionBundle[]): Promise<string> {
  const { stacks } = await synthesizeOffline(parseConfig(structuredClone(kickstart)), {
    stage: "benchbundles",
  });
  const differing: string[] = [];
  let compared = 0;
  for (const stack of stacks.values()) {
    for (const fn of stack.node.findAll().filter((c): c is SstFunction => c instanceof SstFunction)) {
      const dir = join(useProject().paths.artifacts, fn.node.addr, "functions", "aws");
      for (const name of readdirSync(dir).filter((file) => file.endsWith(".mjs"))) {
        const entry = name.slice(0, -".mjs".length);
        const measured = bundles.find((bundle) => bundle.entry === entry);
        compared += 1;
        if (!measured || !Buffer.from(measured.code).equals(readFileSync(join(dir, name)))) {
          differing.push(`${fn.node.id} (${entry})`);
        }
      }
    }
  }
  return differing.length === 0
    ? `the ${compared} functions SST synthesized have exactly these bytes`
    : `SST's synthesized bundles differ from the measured ones for ${differing.join(", ")}: check stacks/bundling.ts`;
}

/** The environment a bench child process gets: what a deployed function's cold start reads, no more. */
export const CHILD_ENV = {
  PATH: process.env.PATH,
  AWS_REGION: "eu-central-1",
  AWS_LAMBDA_FUNCTION_NAME: "bench",
  TAPESTRY_STAGE: "bench",
  TAPESTRY_LEDGER_TABLE: "bench-ledger",
  TAPESTRY_EVENT_BUS: "tapestry-bench",
  TAPESTRY_STATE_MACHINE_ARN: "arn:aws:states:eu-central-1:123456789012:stateMachine:bench",
  POWERTOOLS_SERVICE_NAME: "bench",
  POWERTOOLS_METRICS_NAMESPACE: "Tapestry",
};

function nodeStartMs(): number {
  const started = performance.now();
  execFileSync(process.execPath, ["--input-type=module", "-e", ""], { env: CHILD_ENV });
  return performance.now() - started;
}

/** A fresh Node process importing the bundle, as Lambda's runtime does at a cold start. */
function moduleLoad(file: string): { importMs: number; processMs: number } {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const started = performance.now();
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { env: CHILD_ENV });
  return { importMs: Number(out.toString()), processMs: performance.now() - started };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
