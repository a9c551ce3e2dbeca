import { setTimeout as delay } from "node:timers/promises";

/** Waits `ms` without keeping the process alive; rejects with an AbortError when `signal` fires. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) {
    signal?.throwIfAborted();
    return;
  }
  await delay(ms, undefined, { ref: false, signal });
}

/** Java's `Duration.toString()` form, which Airbyte (a JVM service) sends: "PT0S", "PT0.35S", "PT8H6M12.5S". */
export function isoDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const millis = total % 60_000;
  let out = "PT";
  if (hours > 0) out += `${hours}H`;
  if (minutes > 0) out += `${minutes}M`;
  if (millis > 0 || out === "PT") {
    const seconds = Math.floor(millis / 1000);
    const fraction = millis % 1000;
    out +=
      fraction === 0 ? `${seconds}S` : `${seconds}.${String(fraction).padStart(3, "0").replace(/0+$/, "")}S`;
  }
  return out;
}

/** dbt Cloud's "HH:MM:SS" durations. */
export function clockDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const hh = String(Math.floor(seconds / 3600)).padStart(2, "0");
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return `${hh}:${mm}:${ss}`;
}

/** dbt Cloud's humanized durations: "0 seconds", "1 minute, 4 seconds", "2 hours, 1 minute". */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const unit = (n: number, name: string) => `${n} ${name}${n === 1 ? "" : "s"}`;
  if (seconds < 60) return unit(seconds, "second");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60)
    return [unit(minutes, "minute"), ...(seconds % 60 ? [unit(seconds % 60, "second")] : [])].join(", ");
  const hours = Math.floor(minutes / 60);
  return [unit(hours, "hour"), ...(minutes % 60 ? [unit(minutes % 60, "minute")] : [])].join(", ");
}
