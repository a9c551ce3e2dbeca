import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { parseConfig } from "@tapestry/core/config";
import { Function as SstFunction } from "sst/constructs";
import { useProject } from "sst/project.js";
import { type OfflineApp, synthesizeOffline } from "../stacks/offline-synth";
import kickstart from "../tapestry.config";
import { CHILD_ENV } from "./bundles";
import { manyPipelines } from "./foundation";
import { percentile } from "./stats";

/**
 * The AWS app, offline: how long a synth takes (bundling the functions included), how big each
 * function's bundle is, and how long Node 24 takes to load it (the part of a cold start that is ours).
 */
export async function benchAws(): Promise<string[]> {
  const lines: string[] = [];
  const synthSeconds = async (config: ReturnType<typeof parseConfig>, stage: string) => {
    const started = performance.now();
    const synthesized = await synthesizeOffline(config, { stage });
    synthesized.app.synth();
    return { seconds: (performance.now() - started) / 1000, synthesized };
  };
  // the first synth of a process also loads aws-cdk-lib and starts esbuild: reported apart
  const cold = await synthSeconds(parseConfig(kickstart), "bench");
  const small = await synthSeconds(parseConfig(kickstart), "bench");
  const large = await synthSeconds(parseConfig(manyPipelines(200)), "bench");
  lines.push(
    `synth (4 stacks, 8 functions bundled), kickstart config: ${small.seconds.toFixed(1)} s (${cold.seconds.toFixed(1)} s as the first in a process); 200 pipelines: ${large.seconds.toFixed(1)} s (${countSchedules(large.synthesized)} schedules), ${(large.seconds / small.seconds).toFixed(2)}x`,
  );
  // the bundles of the last synth (the same code for both configs; only the inlined config grows)
  for (const bundle of bundlesOf(large.synthesized)) {
    const loads = Array.from({ length: 7 }, () => moduleLoadMs(bundle.file));
    lines.push(
      `bundle ${bundle.name}: ${kib(bundle.bytes)} minified (${kib(bundle.gzipBytes)} gzipped); module load in Node ${process.versions.node}: median ${percentile(loads, 50).toFixed(0)} ms, p95 ${percentile(loads, 95).toFixed(0)} ms`,
    );
  }
  return lines;
}

function countSchedules({ stacks }: OfflineApp): number {
  let count = 0;
  for (const stack of stacks.values()) {
    count += stack.node.findAll().filter((c) => c.node.id.startsWith("Schedule-")).length;
  }
  return count;
}

interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

/** SST bundles each function into .sst/artifacts/<construct address>/. */
function bundlesOf({ stacks }: OfflineApp): Bundle[] {
  const bundles: Bundle[] = [];
  for (const stack of stacks.values()) {
    for (const fn of stack.node.findAll().filter((c): c is SstFunction => c instanceof SstFunction)) {
      const dir = join(useProject().paths.artifacts, fn.node.addr);
      const file = findFile(dir, (name) => name.endsWith(".mjs"));
      const bytes = readFileSync(file);
      bundles.push({ name: fn.node.id, file, bytes: statSync(file).size, gzipBytes: gzipSync(bytes).length });
    }
  }
  return bundles.sort((a, b) => a.name.localeCompare(b.name));
}

function findFile(dir: string, match: (name: string) => boolean): string {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && match(entry.name)) return path;
    if (entry.isDirectory()) {
      try {
        return findFile(path, match);
      } catch {}
    }
  }
  throw new Error(`no bundle in ${dir}`);
}

/** A fresh Node process importing the bundle, as Lambda's runtime does at a cold start. */
function moduleLoadMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    env: CHILD_ENV,
  });
  return Number(out.toString());
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
