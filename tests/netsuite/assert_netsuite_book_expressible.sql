-- What NetSuite holds that the contract book cannot express, one row per record (table, internal
-- id, column, value): the same rule that stops `usage-loader contracts pull` with exit 4.
{{ config(enabled=var('contract_book_origin', 'seeds') == 'netsuite') }}

{{ netsuite_book_problems({
    'currency': source('netsuite', 'currency'),
    'item': source('netsuite', 'item'),
    'billingaccount': source('netsuite', 'billingaccount'),
    'subscription': source('netsuite', 'subscription'),
    'subscriptionline': source('netsuite', 'subscriptionline'),
    'subscriptionpriceinterval': source('netsuite', 'subscriptionpriceinterval'),
    'priceplan': source('netsuite', 'priceplan'),
    'pricetiers': source('netsuite', 'pricetiers'),
    'subscriptionchangeorder': source('netsuite', 'subscriptionchangeorder'),
    'changeorderline': source('netsuite', 'changeorderline'),
}) }}
