-- The engine's bookkeeping: runs, checkpoints, ingested files, quarantine, alerts.

CREATE TABLE job_runs (
    id           bigserial PRIMARY KEY,
    pipeline     text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
    batches      bigint      NOT NULL DEFAULT 0,
    records_in   bigint      NOT NULL DEFAULT 0,
    records_out  bigint      NOT NULL DEFAULT 0,
    quarantined  bigint      NOT NULL DEFAULT 0,
    reasons      jsonb       NOT NULL DEFAULT '{}',
    error        text,
    host         text        NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_pipeline_started ON job_runs (pipeline, started_at DESC);

-- A source's committed position, opaque to everyone but the source.
CREATE TABLE checkpoints (
    stream     text PRIMARY KEY,
    pos        bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every file a pipeline has seen, by the SHA-256 of its bytes: the same bytes
-- under another name, or after a failed move on the server, load once.
CREATE TABLE ingested_files (
    pipeline      text        NOT NULL,
    sha256        text        NOT NULL,
    name          text        NOT NULL,
    size          bigint      NOT NULL,
    status        text        NOT NULL DEFAULT 'loading' CHECK (status IN ('loading', 'done', 'rejected')),
    error         text,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz,
    PRIMARY KEY (pipeline, sha256)
);

-- Records that failed validation, with where they came from and why.
CREATE TABLE quarantine (
    id            bigserial PRIMARY KEY,
    pipeline      text        NOT NULL,
    pos_key       text        NOT NULL, -- file sha256:line, topic/partition/offset or event id
    source_file   text        NOT NULL DEFAULT '',
    source_sha256 text        NOT NULL DEFAULT '',
    source_line   integer     NOT NULL DEFAULT 0,
    topic         text        NOT NULL DEFAULT '',
    partition     integer     NOT NULL DEFAULT 0,
    "offset"      bigint      NOT NULL DEFAULT 0,
    event_id      text        NOT NULL DEFAULT '',
    raw           bytea       NOT NULL,
    reason        text        NOT NULL,
    detail        text        NOT NULL,
    status        text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'dismissed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    UNIQUE (pipeline, pos_key)
);
CREATE INDEX quarantine_open ON quarantine (pipeline, reason) WHERE status = 'open';

-- Things operations must look at: a feed that is not a feed, a stale NAV.
CREATE TABLE alerts (
    id          bigserial PRIMARY KEY,
    kind        text        NOT NULL,
    subject     text        NOT NULL,
    detail      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE UNIQUE INDEX alerts_open_once ON alerts (kind, subject) WHERE resolved_at IS NULL;
