-- A scheme's tax character where its AMFI category does not say it
-- (equity index funds and ETFs are "Other Scheme - Index Funds"; a fund of
-- funds; a scheme whose mandate changed), issue 17. Effective-dated: the
-- row in force on a transfer's date (the latest effective_from on or
-- before it) decides, so a change is a new row, never an edit.
CREATE TABLE scheme_tax_types (
    scheme_code    text        NOT NULL,
    effective_from date        NOT NULL,
    tax_type       text        NOT NULL CHECK (tax_type IN ('equity', 'debt', 'other')),
    reason         text        NOT NULL,                -- why, for the statement's reader and the audit
    source         text        NOT NULL,                -- 'cli', 'api'
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scheme_code, effective_from)
);
