// dynalite ships no type declarations; this is the part of its API the tests use.
declare module "dynalite" {
  import type { Server } from "node:http";

  interface DynaliteOptions {
    /** the LevelDB folder; in memory (memory-level) when absent */
    readonly path?: string;
    /** how long a new table stays CREATING (500 ms by default) */
    readonly createTableMs?: number;
    readonly deleteTableMs?: number;
    readonly updateTableMs?: number;
    readonly maxItemSizeKb?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}
