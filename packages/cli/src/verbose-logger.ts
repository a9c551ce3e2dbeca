import type { Logger } from "@tapestry/core/logging";
import { createColors } from "picocolors";

/**
 * `tapestry local --verbose`: what the control plane's own logger says (each HTTP attempt of the
 * connectors at debug, their retries at warn, the reconciler, provisioning), one line each on
 * stderr. The attributes are already free of secrets: the HTTP client redacts before it logs.
 */
export function verboseLogger(write: (line: string) => void, color: boolean): Logger {
  const c = createColors(color);
  const paint = { debug: c.dim, info: c.cyan, warn: c.yellow, error: c.red } as const;
  const log =
    (level: keyof typeof paint) =>
    (message: string, attributes?: Record<string, unknown>): void => {
      const time = new Date().toISOString().slice(11, 19);
      const details =
        attributes && Object.keys(attributes).length > 0 ? ` ${JSON.stringify(attributes)}` : "";
      write(`${c.dim(time)} ${paint[level](level.padEnd(5))} ${message}${details}`);
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
