import { parseConfig } from "@tapestry/core/config";
import type { SSTConfig } from "sst";
import { addTapestryStacks } from "./stacks";
import tapestryConfig from "./tapestry.config";

/**
 * The AWS app: Events, Ledger, Pipelines and StatusApi (stacks/), built from tapestry.config.ts.
 * The config is validated first: a bad one stops `sst deploy` before anything is deployed.
 */
export default {
  config() {
    return { name: "tapestry", region: process.env.AWS_REGION ?? "us-east-1" };
  },
  stacks(app) {
    addTapestryStacks(app, parseConfig(tapestryConfig, "tapestry.config.ts"));
  },
} satisfies SSTConfig;
