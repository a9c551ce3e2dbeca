import { checkTimeZone } from "../config/time-zone";
import { ConfigError } from "../errors";

/**
 * Wall-clock arithmetic in an IANA time zone with nothing but Intl. A "wall time" is a local date
 * and time encoded as milliseconds as if it were UTC (Date.UTC of the local fields): it has no
 * daylight-saving jumps, which is what a cron expression describes.
 */

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    const problem = checkTimeZone(zone);
    if (problem) throw new ConfigError([{ path: "schedule.timezone", message: problem }], "schedule");
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, format);
  }
  return format;
}

/** Rejects a zone Scheduler would not accept (the same check as the config schema). */
export function assertTimeZone(zone: string): void {
  formatter(zone);
}

/** The zone's offset from UTC at an instant, in ms (wall time minus UTC; whole seconds). */
export function zoneOffset(zone: string, instantMs: number): number {
  const seconds = Math.floor(instantMs / 1000) * 1000;
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of formatter(zone).formatToParts(new Date(seconds))) {
    const value = Number(part.value);
    if (part.type === "year") year = value;
    else if (part.type === "month") month = value;
    else if (part.type === "day") day = value;
    else if (part.type === "hour") hour = value;
    else if (part.type === "minute") minute = value;
    else if (part.type === "second") second = value;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) - seconds;
}

/** The wall time an instant shows in the zone. */
export function toWallTime(zone: string, instantMs: number): number {
  return instantMs + zoneOffset(zone, instantMs);
}

/**
 * Every instant at which the zone's clocks show the wall time, earliest first: one instant
 * normally, none inside a spring-forward gap, two inside a fall-back repeat.
 */
export function instantsAt(zone: string, wallMs: number): number[] {
  const offsets = new Set([
    zoneOffset(zone, wallMs - DAY_MS),
    zoneOffset(zone, wallMs),
    zoneOffset(zone, wallMs + DAY_MS),
  ]);
  const instants: number[] = [];
  for (const offset of offsets) {
    const instant = wallMs - offset;
    if (zoneOffset(zone, instant) === offset && !instants.includes(instant)) instants.push(instant);
  }
  return instants.sort((a, b) => a - b);
}
