import { describe, expect, it } from "vitest";
import { ModelRenderError, quoteTableName, renderModel } from "../../../packages/local/src/warehouse";

const sources = {
  "zoom.webinar_registrants": "raw_zoom.registrants",
  "salesforce.contacts": "salesforce.contacts",
};

describe("renderModel", () => {
  it("removes config, replaces source and ref, drops comments", () => {
    const rendered = renderModel(
      [
        "{{ config(materialized='table', tags=['mailchimp']) }}",
        "{# a Jinja comment #}",
        "select * from {{ source('zoom', 'webinar_registrants') }} z",
        'join {{- source("salesforce","contacts") -}} s using (email)',
        "join {{ ref('stg_people') }} p using (email)",
        "join {{ ref('analytics', 'dim_accounts') }} a using (email);",
      ].join("\n"),
      { sources, refs: { stg_people: "staging.people" } },
    );
    expect(rendered.materialized).toBe("table");
    expect(rendered.sql).toBe(
      [
        'select * from "raw_zoom"."registrants" z',
        'join "salesforce"."contacts" s using (email)',
        'join "staging"."people" p using (email)',
        'join "dim_accounts" a using (email)',
      ].join("\n"),
    );
  });

  it("reads the materialization and refuses the ones it cannot build", () => {
    expect(renderModel('{{ config(materialized = "view") }} select 1', { sources }).materialized).toBe(
      "view",
    );
    expect(renderModel("select 1", { sources }).materialized).toBe("table");
    expect(() => renderModel("{{ config(materialized='incremental') }} select 1", { sources })).toThrow(
      /config\(materialized='incremental'\).*not supported/,
    );
  });

  it("rejects any other Jinja with an error naming the construct and its line", () => {
    const model = "models/email_model.sql";
    const cases: Array<[string, RegExp]> = [
      [
        "select 1\n{% if is_incremental() %} where x > 1 {% endif %}",
        /unsupported Jinja \{% if is_incremental\(\) %\} at line 2 in models\/email_model\.sql/,
      ],
      ["select {{ var('start_date') }}", /unsupported Jinja \{\{ var\('start_date'\) \}\} at line 1/],
      ["select {{ dbt_utils.star(ref('x')) }}", /unsupported Jinja \{\{ dbt_utils\.star\(ref\('x'\)\) \}\}/],
      ["select * from {{ this }}", /unsupported Jinja \{\{ this \}\}/],
    ];
    for (const [template, message] of cases) {
      expect(() => renderModel(template, { sources, model })).toThrow(ModelRenderError);
      expect(() => renderModel(template, { sources, model })).toThrow(message);
    }
    expect(() => renderModel("select {{ source('zoom', 'x')", { sources })).toThrow(
      /unclosed Jinja \{\{ at line 1: expected a closing \}\}/,
    );
  });

  it("names an unbound source and the bound ones", () => {
    expect(() => renderModel("select * from {{ source('hubspot', 'contacts') }}", { sources })).toThrow(
      /reads "hubspot\.contacts", which is not bound to a table \(bound: zoom\.webinar_registrants, salesforce\.contacts\)/,
    );
  });

  it("quotes only plain table names", () => {
    expect(quoteTableName("analytics.email_model")).toBe('"analytics"."email_model"');
    expect(() => quoteTableName('x"; drop table y; --')).toThrow(/is not a table name/);
    expect(() => quoteTableName("a.b.c")).toThrow(/is not a table name/);
  });
});
