import { TapestryError } from "../errors";
import { issuesAsMessages } from "../zod-messages";
import { anyEventSchema, type TapestryEvent } from "./catalog";

/**
 * An event as a bus delivers it to a target: EventBridge's envelope (`version`, `id`, `time`,
 * `account`, `region`, `resources`, `replay-name` ...) around our source, detail-type and detail.
 * Only those three are ours; the rest is EventBridge's and is not part of a TapestryEvent.
 */
export interface BusEnvelope {
  readonly id?: string;
  readonly source: string;
  readonly "detail-type": string;
  readonly detail: unknown;
}

/** A delivered event that is not in the catalog (unknown source or detail-type, another version, bad data). */
export class InvalidEventError extends TapestryError {
  override readonly name = "InvalidEventError";
  constructor(
    readonly detailType: string,
    readonly source: string,
    readonly issues: readonly string[],
    readonly envelopeId?: string,
  ) {
    super(
      `event ${envelopeId ?? "(no id)"} (${detailType} from ${source}) is not in Tapestry's event catalog: ${issues.join("; ")}`,
    );
  }
}

/** The TapestryEvent inside a delivered envelope; InvalidEventError (naming each bad field) otherwise. */
export function eventFromEnvelope(envelope: BusEnvelope): TapestryEvent {
  const ours = { source: envelope.source, "detail-type": envelope["detail-type"], detail: envelope.detail };
  const result = anyEventSchema.safeParse(ours);
  if (result.success) return result.data as TapestryEvent;
  throw new InvalidEventError(
    envelope["detail-type"],
    envelope.source,
    issuesAsMessages(result.error.issues).map(({ path, message }) => `${path}: ${message}`),
    envelope.id,
  );
}
