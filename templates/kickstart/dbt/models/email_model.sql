{{ config(materialized='table') }}

/*
  email_model: Rain Shield's Mailchimp audience, one row per normalised e-mail address.

  - An address is normalised as lower(trim(email)); rows whose e-mail is missing or blank are dropped.
  - Name winner rule: for each address ONE source row wins, and first_name, last_name, company and
    lead_source all come from that row (never a mix of rows):
      1. a Salesforce contact beats a Zoom registrant (the CRM is curated; "Susan" beats "Susie"),
      2. then the most recently modified row wins (Salesforce last_modified_at, Zoom registered_at),
      3. then the smallest source id wins (a stable tiebreak: the same data always gives the same names).
  - Portable SQL only: it runs unchanged on Snowflake (dbt Cloud) and on DuckDB (the embedded control
    plane): a row_number() window filtered in the outer query, no dialect-specific dedup syntax.
*/

with zoom_registrants as (

    select
        lower(trim(email)) as email,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        cast(null as varchar) as company,
        cast(null as varchar) as lead_source,
        'zoom' as source,
        2 as source_priority,
        cast(registered_at as timestamp) as seen_at,
        cast(id as varchar) as source_id
    from {{ source('zoom', 'webinar_registrants') }}

),

salesforce_contacts as (

    select
        lower(trim(email)) as email,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(account_name), '') as company,
        nullif(trim(lead_source), '') as lead_source,
        'salesforce' as source,
        1 as source_priority,
        cast(last_modified_at as timestamp) as seen_at,
        cast(id as varchar) as source_id
    from {{ source('salesforce', 'contacts') }}

),

people as (

    select * from salesforce_contacts
    union all
    select * from zoom_registrants

),

ranked as (

    select
        email,
        first_name,
        last_name,
        company,
        lead_source,
        row_number() over (
            partition by email
            order by source_priority, seen_at desc nulls last, source_id
        ) as winner_rank,
        max(case when source = 'salesforce' then 1 else 0 end) over (partition by email) as in_salesforce,
        max(case when source = 'zoom' then 1 else 0 end) over (partition by email) as in_zoom,
        count(*) over (partition by email) as source_records,
        max(seen_at) over (partition by email) as last_seen_at
    from people
    where coalesce(email, '') <> ''

)

select
    email,
    first_name,
    last_name,
    company,
    lead_source,
    in_zoom = 1 as registered_for_webinar,
    case
        when in_salesforce = 1 and in_zoom = 1 then 'salesforce,zoom'
        when in_salesforce = 1 then 'salesforce'
        else 'zoom'
    end as sources,
    cast(source_records as integer) as source_records,
    last_seen_at
from ranked
where winner_rank = 1
