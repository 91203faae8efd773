-- The facts relay also copies the systematic plans' events (sip.*, stp.*,
-- swp.*: instalment steps and cancellations) to ClickHouse
-- plan_instalments. Its pending rows of those topics get their own partial
-- index, as transactions.completed has outbox_facts_pending (003): without
-- it every relay pass would scan the whole outbox, whose other topics are
-- never marked facts_at. The predicate is spelled exactly as the relay's
-- query (sinks/postgres/outbox.go) so the planner matches it.
CREATE INDEX outbox_plan_facts_pending ON outbox (id)
    WHERE facts_at IS NULL AND (topic LIKE 'sip.%' OR topic LIKE 'stp.%' OR topic LIKE 'swp.%');
