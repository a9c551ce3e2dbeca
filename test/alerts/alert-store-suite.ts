import type { AlertStore, Verdict } from "@tapestry/core/alerts";
import { InvalidCursorError, LedgerInputError } from "@tapestry/core/ledger";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

export type ClosableAlertStore = AlertStore & { close(): Promise<void> | void };

export const T0 = Date.parse("2026-03-02T06:00:00.000Z");
/** `minutes` after T0, as the stores keep times. */
export const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** A verdict of the failed-run rule of `pipeline` (or of a step's floor with `step`), seen `minutes` after T0. */
export function verdict(breaching: boolean, minutes: number, extra: Partial<Verdict> = {}): Verdict {
  return {
    pipeline: "rain-shield-audience",
    rule: "run-failed",
    breaching,
    figure: breaching ? 1 : 0,
    threshold: 0,
    unit: "runs",
    summary: breaching ? `run failed at +${minutes} min` : `run succeeded at +${minutes} min`,
    at: at(minutes),
    runId: `rain-shield-audience-run-${minutes}`,
    ...extra,
  };
}

const floor = (breaching: boolean, minutes: number, step: string) =>
  verdict(breaching, minutes, {
    rule: "rows-below-minimum",
    stage: "ingest",
    step,
    unit: "rows",
    figure: breaching ? 0 : 40,
    threshold: 1,
  });

let ids = 0;
const newId = () => `01J${String(++ids).padStart(23, "0")}`;

/**
 * What every AlertStore adapter owes the alert service and the status API: one open incident per
 * threshold, repeats counted on it, resolutions, retries of the same evaluation recognised, news
 * from the past ignored, history newest first in pages. Each adapter's test file calls this with
 * a function that opens a fresh, empty store.
 */
export function describeAlertStoreContract(name: string, open: () => Promise<ClosableAlertStore>): void {
  describe(`AlertStore contract: ${name}`, () => {
    let store: ClosableAlertStore;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
    });

    it("opens one incident for a breach, lists it as open, and counts later breaches on it", async () => {
      const first = await store.open({ incidentId: newId(), cause: "run-1", verdict: verdict(true, 0) });
      expect(first.kind).toBe("opened");
      if (first.kind !== "opened") return;
      expect(first.incident).toMatchObject({
        key: "rain-shield-audience:run-failed",
        status: "open",
        openedAt: at(0),
        breaches: 1,
        breach: { figure: 1, at: at(0), runId: "rain-shield-audience-run-0" },
      });

      const again = await store.open({ incidentId: newId(), cause: "run-2", verdict: verdict(true, 60) });
      expect(again).toMatchObject({
        kind: "repeated",
        incident: { id: first.incident.id, breaches: 2, latest: { at: at(60) }, breach: { at: at(0) } },
      });
      expect((await store.openIncidents()).map((i) => [i.id, i.breaches])).toEqual([[first.incident.id, 2]]);
      const listed = await store.listIncidents({ limit: 10 });
      expect(listed.incidents.map((i) => [i.id, i.status, i.breaches])).toEqual([
        [first.incident.id, "open", 2],
      ]);
    });

    it("answers a retry of the opening evaluation with the same incident, opened, and counts nothing", async () => {
      const first = await store.open({ incidentId: newId(), cause: "run-1", verdict: verdict(true, 0) });
      const retried = await store.open({ incidentId: newId(), cause: "run-1", verdict: verdict(true, 0) });
      expect(retried).toEqual(first);
      const repeat = await store.open({ incidentId: newId(), cause: "run-2", verdict: verdict(true, 5) });
      const repeatRetried = await store.open({
        incidentId: newId(),
        cause: "run-2",
        verdict: verdict(true, 5),
      });
      expect(repeat.kind).toBe("repeated");
      expect(repeatRetried).toMatchObject({ kind: "repeated", incident: { breaches: 2 } });
      expect(await store.openIncidents()).toHaveLength(1);
    });

    it("resolves the open incident once; a retry of that resolution is resolved again, anything else finds nothing open", async () => {
      const opened = await store.open({ incidentId: newId(), cause: "run-1", verdict: verdict(true, 0) });
      const resolved = await store.resolve({ cause: "run-2", verdict: verdict(false, 30) });
      expect(resolved).toMatchObject({
        kind: "resolved",
        incident: {
          id: opened.kind === "opened" ? opened.incident.id : "?",
          status: "resolved",
          resolvedAt: at(30),
          recovery: { figure: 0, at: at(30), runId: "rain-shield-audience-run-30" },
        },
      });
      expect(await store.resolve({ cause: "run-2", verdict: verdict(false, 30) })).toEqual(resolved);
      expect(await store.resolve({ cause: "run-3", verdict: verdict(false, 60) })).toEqual({
        kind: "not-open",
      });
      expect(await store.openIncidents()).toEqual([]);
      expect((await store.listIncidents({ limit: 10 })).incidents).toEqual([
        resolved.kind === "resolved" ? resolved.incident : undefined,
      ]);
    });

    it("finds nothing to resolve for a healthy verdict when nothing is open", async () => {
      expect(await store.resolve({ cause: "run-1", verdict: verdict(false, 0) })).toEqual({
        kind: "not-open",
      });
      expect((await store.listIncidents({ limit: 10 })).incidents).toEqual([]);
    });

    it("ignores news from the past: a breach older than the last recovery, a recovery older than the newest breach", async () => {
      await store.open({ incidentId: newId(), cause: "run-2", verdict: verdict(true, 20) });
      expect(await store.resolve({ cause: "run-1", verdict: verdict(false, 10) })).toEqual({
        kind: "outdated",
      });
      expect(await store.openIncidents()).toHaveLength(1);
      await store.resolve({ cause: "run-3", verdict: verdict(false, 30) });
      expect(await store.open({ incidentId: newId(), cause: "run-0", verdict: verdict(true, 25) })).toEqual({
        kind: "outdated",
      });
      expect(await store.openIncidents()).toEqual([]);
    });

    it("opens a new incident for a breach after a resolution, and keeps each threshold's incident apart", async () => {
      const first = await store.open({ incidentId: newId(), cause: "a", verdict: floor(true, 0, "zoom") });
      await store.open({ incidentId: newId(), cause: "b", verdict: floor(true, 0, "salesforce") });
      await store.resolve({ cause: "c", verdict: floor(false, 10, "zoom") });
      const second = await store.open({ incidentId: newId(), cause: "d", verdict: floor(true, 20, "zoom") });
      expect(second.kind).toBe("opened");
      expect(
        second.kind === "opened" && first.kind === "opened" && second.incident.id !== first.incident.id,
      ).toBe(true);
      expect((await store.openIncidents()).map((i) => i.key).sort()).toEqual([
        "rain-shield-audience:rows-below-minimum:ingest/salesforce",
        "rain-shield-audience:rows-below-minimum:ingest/zoom",
      ]);
      expect((await store.listIncidents({ limit: 10 })).incidents.map((i) => [i.step, i.status])).toEqual([
        ["zoom", "open"],
        ["salesforce", "open"],
        ["zoom", "resolved"],
      ]);
    });

    it("opens exactly one incident when two evaluations of one threshold race", async () => {
      const outcomes = await Promise.all(
        [0, 1, 2, 3].map((n) =>
          store.open({ incidentId: newId(), cause: `race-${n}`, verdict: verdict(true, n) }),
        ),
      );
      expect(outcomes.filter((o) => o.kind === "opened")).toHaveLength(1);
      expect(await store.openIncidents()).toHaveLength(1);
      expect((await store.listIncidents({ limit: 10 })).incidents).toHaveLength(1);
    });

    it("lists every incident newest first, in pages joined by an opaque cursor", async () => {
      for (let n = 0; n < 5; n++) {
        await store.open({ incidentId: newId(), cause: `open-${n}`, verdict: verdict(true, n * 10) });
        await store.resolve({ cause: `close-${n}`, verdict: verdict(false, n * 10 + 5) });
      }
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listIncidents({ limit: 2, ...(cursor ? { cursor } : {}) });
        pages.push(page.incidents.map((i) => i.openedAt));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(pages).toEqual([[at(40), at(30)], [at(20), at(10)], [at(0)]]);
      await expect(store.listIncidents({ limit: 2, cursor: "not-a-cursor!" })).rejects.toBeInstanceOf(
        InvalidCursorError,
      );
      await expect(store.listIncidents({ limit: 0 })).rejects.toBeInstanceOf(LedgerInputError);
    });

    it("remembers when a pipeline was first watched", async () => {
      expect(await store.watchedSince("rain-shield-audience", at(0))).toBe(at(0));
      expect(await store.watchedSince("rain-shield-audience", at(90))).toBe(at(0));
      expect(await store.watchedSince("other", "2026-03-02T07:00:00Z")).toBe(at(60));
    });
  });
}
