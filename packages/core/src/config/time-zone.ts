const IANA_ZONES = new Set([...Intl.supportedValuesOf("timeZone"), "UTC", "Etc/UTC", "GMT"]);

/**
 * EventBridge Scheduler takes IANA zone names. Node's Intl knows the same database, so a name it
 * cannot resolve is one Scheduler would reject too. Offsets ("+02:00") are refused on purpose:
 * they ignore daylight-saving time, which is exactly what a scheduleExpressionTimezone is for.
 */
export function checkTimeZone(zone: string): string | undefined {
  if (IANA_ZONES.has(zone)) return undefined;
  if (/^[+-]|^(UTC|GMT)[+-]/i.test(zone)) {
    return `"${zone}" is an offset, not a time zone: use an IANA name such as "Europe/Berlin" or "UTC" so daylight-saving time is followed`;
  }
  try {
    // Aliases (e.g. "US/Pacific", "Asia/Calcutta") are valid IANA links that the list above omits.
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    if (/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(zone) && !isCaseVariant(zone)) return undefined;
  } catch {
    // fall through to the suggestion below
  }
  const suggestion = [...IANA_ZONES].find((z) => z.toLowerCase() === zone.toLowerCase());
  return suggestion
    ? `unknown time zone "${zone}": did you mean "${suggestion}"?`
    : `unknown time zone "${zone}": use an IANA name such as "America/New_York", "Europe/Berlin" or "UTC"`;
}

function isCaseVariant(zone: string): boolean {
  return [...IANA_ZONES].some((z) => z !== zone && z.toLowerCase() === zone.toLowerCase());
}
