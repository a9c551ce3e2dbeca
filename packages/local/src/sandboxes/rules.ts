import type { ScenarioRule } from "./scenario";

/**
 * The matching engine shared by the three sandboxes. Each rule numbers the calls its `on`
 * selects (1-based; for `on: any`, every call to the sandbox), whether or not an earlier rule
 * took them; the first rule whose numbering matches wins.
 */
export interface MatchedRule {
  /** index of the rule in the scenario's `rules` list */
  index: number;
  /** the call number, as the rule counts */
  call: number;
  rule: ScenarioRule;
}

interface CompiledRule {
  index: number;
  rule: ScenarioRule;
  operations: Set<string> | "any";
  seen: number;
}

export class RuleBook {
  private readonly compiled: CompiledRule[];

  constructor(rules: readonly ScenarioRule[] | undefined) {
    this.compiled = (rules ?? []).map((rule, index) => {
      const on = Array.isArray(rule.on) ? rule.on : [rule.on];
      return { index, rule, operations: on.includes("any") ? "any" : new Set(on), seen: 0 };
    });
  }

  /** Counts this call for every rule that selects `operation` and returns the first that matches. */
  match(operation: string): MatchedRule | undefined {
    let found: MatchedRule | undefined;
    for (const entry of this.compiled) {
      if (entry.operations !== "any" && !entry.operations.has(operation)) continue;
      entry.seen += 1;
      if (found === undefined && selects(entry.rule, entry.seen)) {
        found = { index: entry.index, call: entry.seen, rule: entry.rule };
      }
    }
    return found;
  }
}

function selects(rule: ScenarioRule, call: number): boolean {
  if (rule.calls) return rule.calls.includes(call);
  const from = rule.from ?? 1;
  if (call < from) return false;
  return rule.times === undefined || call < from + rule.times;
}
