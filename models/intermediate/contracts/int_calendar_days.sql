-- One row per calendar day from before the first line start to after the as-of date, flagged as a
-- business day (Monday to Friday and not a holiday) or not.
with

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
),

holidays as (
    select * from {{ ref('stg_contract_book__holidays') }}
),

bounds as (
    select
        cast({{ dbt.dateadd('day', -62, 'coalesce(min(line_start_date), ' ~ as_of_date() ~ ')') }} as date) as first_day,
        cast({{ dbt.dateadd('day', 62, as_of_date()) }} as date) as last_day
    from lines
),

series as (
    {{ integer_series(40000) }}
),

days as (
    select cast({{ dbt.dateadd('day', 'series.n', 'bounds.first_day') }} as date) as calendar_date
    from bounds
    cross join series
    where series.n <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }}
),

final as (
    select
        days.calendar_date,
        {{ is_weekday('days.calendar_date') }} as is_weekday,
        holidays.holiday_date is not null as is_holiday,
        {{ is_weekday('days.calendar_date') }} and holidays.holiday_date is null as is_business_day
    from days
    left join holidays
        on days.calendar_date = holidays.holiday_date
)

select * from final
