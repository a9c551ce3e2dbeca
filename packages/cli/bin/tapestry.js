#!/usr/bin/env node
// The tapestry command runs its TypeScript sources directly through tsx's loader: no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
// Exit as soon as the command is done: a stopped control plane has recorded every outcome by
// then, and a timer or socket left behind by a task that was cut short must not keep it alive.
process.exit(await main(process.argv.slice(2)));
