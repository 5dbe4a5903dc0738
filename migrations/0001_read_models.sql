-- Read models of the backbone (DESIGN §5). Every projector writes its rows and its checkpoint in
-- one transaction; the checkpoint row is locked first, which serialises projector instances and
-- lets `aurora replay` swap shadow tables in without racing the live projector.

CREATE TABLE projector_checkpoints (
    projector     text PRIMARY KEY,
    last_sequence bigint NOT NULL DEFAULT 0,
    -- bumped by every replay swap: a projector's in-memory states from before it are void
    generation    bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO projector_checkpoints (projector) VALUES ('incidents'), ('sessions');

CREATE TABLE incidents (
    tenant_id              text        NOT NULL,
    id                     uuid        NOT NULL,
    title                  text        NOT NULL,
    service                text        NOT NULL,
    environment            text        NOT NULL,
    severity               text        NOT NULL,
    source                 text        NOT NULL,
    source_alert_id        text        NOT NULL,
    status                 text        NOT NULL,
    rca_status             text        NOT NULL,
    summary                text,
    started_at             timestamptz NOT NULL,
    analyzed_at            timestamptz,
    resolved_at            timestamptz,
    alert_fired_at         timestamptz,
    updated_at             timestamptz NOT NULL,
    affected_services      text[]      NOT NULL,
    correlated_alert_count integer     NOT NULL,
    merged_into            uuid,
    -- stream sequence of the last event folded into this row
    last_sequence          bigint      NOT NULL,
    -- the folded domain state as JSON text (comments, feedback, … for the detail view); text, not
    -- jsonb: only Aurora reads it, so Postgres need not parse it on every write
    state                  text        COMPRESSION lz4 NOT NULL,
    PRIMARY KEY (tenant_id, id)
)
-- Rows are rewritten on every batch that touches them: leave room on the page for HOT updates,
-- and keep states up to ~8 kB in the row instead of a separate TOAST value per update.
WITH (fillfactor = 70, toast_tuple_target = 8160);
CREATE INDEX incidents_by_start ON incidents (tenant_id, started_at DESC, id DESC);
CREATE INDEX incidents_by_status ON incidents (tenant_id, status, started_at DESC);
CREATE INDEX incidents_by_service ON incidents (tenant_id, service, started_at DESC);

CREATE TABLE incident_alerts (
    tenant_id       text        NOT NULL,
    incident_id     uuid        NOT NULL,
    alert_id        text        NOT NULL,
    fingerprint     text        NOT NULL,
    title           text        NOT NULL,
    service         text        NOT NULL,
    severity        text        NOT NULL,
    source          text        NOT NULL,
    received_at     timestamptz NOT NULL,
    correlation     jsonb,
    stream_sequence bigint      NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, alert_id)
);

CREATE TABLE incident_timeline (
    tenant_id       text        NOT NULL,
    incident_id     uuid        NOT NULL,
    stream_sequence bigint      NOT NULL,
    event_type      text        NOT NULL,
    at              timestamptz NOT NULL,
    description     text        NOT NULL,
    -- the event body as JSON text (served as JSON; stored unparsed to keep projection fast)
    data            text        NOT NULL,
    PRIMARY KEY (tenant_id, stream_sequence)
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline (tenant_id, incident_id, stream_sequence);

CREATE TABLE chat_sessions (
    tenant_id     text        NOT NULL,
    id            uuid        NOT NULL,
    owner         text        NOT NULL,
    title         text        NOT NULL,
    mode          text        NOT NULL,
    deleted       boolean     NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    message_count integer     NOT NULL,
    input_tokens  bigint      NOT NULL,
    output_tokens bigint      NOT NULL,
    cost_micros   bigint      NOT NULL,
    last_sequence bigint      NOT NULL,
    state         text        COMPRESSION lz4 NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX chat_sessions_by_update ON chat_sessions (tenant_id, updated_at DESC, id DESC);

CREATE TABLE chat_messages (
    tenant_id       text        NOT NULL,
    session_id      uuid        NOT NULL,
    stream_sequence bigint      NOT NULL,
    message_id      text        NOT NULL,
    kind            text        NOT NULL,
    at              timestamptz NOT NULL,
    text            text,
    data            jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, stream_sequence)
);
CREATE INDEX chat_messages_by_session ON chat_messages (tenant_id, session_id, stream_sequence);
