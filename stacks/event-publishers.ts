import { EVENT_SOURCE } from "@tapestry/core/events";
import type { Stack } from "aws-cdk-lib";
import { CfnEventBusPolicy, type IEventBus } from "aws-cdk-lib/aws-events";
import { Effect, type IRole, PolicyStatement, StarPrincipal } from "aws-cdk-lib/aws-iam";

/** Every source Tapestry publishes under: `tapestry.pipeline` today, `tapestry.provisioning` next. */
export const TAPESTRY_EVENT_SOURCES = "tapestry.*";
if (!EVENT_SOURCE.startsWith(TAPESTRY_EVENT_SOURCES.slice(0, -1))) {
  throw new Error(
    `the event source ${EVENT_SOURCE} is outside ${TAPESTRY_EVENT_SOURCES}, which the bus policy guards`,
  );
}

/**
 * The functions that publish Tapestry's events, and the bus policy that lets no one else: without
 * it any principal of the account allowed `events:PutEvents` could put a `tapestry.pipeline`
 * event on the bus, and the projector would record it as a run's history.
 *
 * The list is derived, never kept by hand: `tapestryFunction(..., { publishesEvents: true })`
 * registers its role here (and gets the bus's name and the right to put events on it), and
 * `restrictBus()` writes the one Deny statement from what was registered. One statement, because
 * a second Deny exempting other roles would deny the roles the first one exempts.
 */
export class EventPublishers {
  #bus: IEventBus | undefined;
  readonly #publishers: { readonly stack: Stack; readonly role: IRole }[] = [];

  /** The bus the events go to; the Events stack sets it before any publisher is built. */
  useBus(bus: IEventBus): void {
    this.#bus = bus;
  }

  get bus(): IEventBus {
    if (!this.#bus) throw new Error("no event bus yet: the Events stack must be added before any publisher");
    return this.#bus;
  }

  /** Lets `role` (of a function in `stack`) put events on the bus, and exempts it from the bus policy. */
  add(stack: Stack, role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["events:PutEvents"], resources: [this.bus.eventBusArn] }),
    );
    this.#publishers.push({ stack, role });
  }

  /**
   * Once every stack is built: denies `events:PutEvents` of any `tapestry.*` source to every
   * principal but the registered roles. The policy lives in the stack of the last publisher, which
   * comes after the bus's stack and every other publisher's: it can name all the roles without a
   * reference cycle (the bus's stack cannot: the roles' stacks depend on it).
   */
  restrictBus(): void {
    const last = this.#publishers.at(-1);
    if (!last) return;
    const statementId = "OnlyTapestryPublishesTapestryEvents";
    const statement = new PolicyStatement({
      sid: statementId,
      effect: Effect.DENY,
      principals: [new StarPrincipal()],
      actions: ["events:PutEvents"],
      resources: [this.bus.eventBusArn],
      conditions: {
        // events:source holds the source of every entry of the call (ArrayOfString): any one of them
        "ForAnyValue:StringLike": { "events:source": TAPESTRY_EVENT_SOURCES },
        // an assumed role's aws:PrincipalArn is the role's ARN, whatever the session
        ArnNotEquals: { "aws:PrincipalArn": this.#publishers.map(({ role }) => role.roleArn) },
      },
    });
    new CfnEventBusPolicy(last.stack, statementId, {
      eventBusName: this.bus.eventBusName,
      statementId,
      statement: statement.toStatementJson(),
    });
  }
}
