-- Every request to the query API: who (token subject and role) read what
-- (route, path, folio), the answer's status and time, and whether PAN and
-- bank details went out in the clear (only to compliance). Compliance asks
-- "who looked at this investor's data"; operations watch latency and errors.
-- Written in batches by the API process; a full buffer drops rows (counted
-- and logged when the API stops) rather than slow a request.
CREATE TABLE IF NOT EXISTS api_requests (
    at          DateTime,
    subject     String,
    role        String,
    method      String,
    route       String,
    path        String,
    folio       String,
    status      UInt16,
    duration_us UInt32,
    pii_clear   UInt8
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (role, subject, at)
