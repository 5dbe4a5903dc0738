-- Connectors (cloud, Kubernetes and observability accounts) of each tenant: the read model of the
-- `Connector` aggregate, and their part of the audit log. The secret lives in the secret store;
-- `secret_ref` names it (NULL for AWS, whose role is assumed with Aurora's own keys).

INSERT INTO projector_checkpoints (projector) VALUES ('connectors');

CREATE TABLE connectors (
    tenant_id         text        NOT NULL,
    id                uuid        NOT NULL,
    kind              text        NOT NULL,
    -- connected | failing (the last check was refused) | disconnected
    status            text        NOT NULL,
    settings          jsonb       NOT NULL,
    secret_ref        text,
    -- GCP: [{"project": "...", "enabled": true}, ...]
    projects          jsonb       NOT NULL,
    root_project      text,
    last_check_ok     boolean     NOT NULL,
    last_check_detail text,
    last_checked_at   timestamptz NOT NULL,
    connected_by      uuid        NOT NULL,
    connected_at      timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    last_sequence     bigint      NOT NULL,
    state             text        NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- What the agent asks on every tool call: the tenant's live account of a kind.
CREATE INDEX connectors_live ON connectors (tenant_id, kind, connected_at DESC)
    WHERE status <> 'disconnected';

-- Connects, disconnects and project choices, described for people; `GET /api/audit-log` reads it
-- beside `audit_log` (both ordered by the EVENTS stream sequence).
CREATE TABLE connector_audit (
    tenant_id       text        NOT NULL,
    stream_sequence bigint      NOT NULL,
    event_type      text        NOT NULL,
    at              timestamptz NOT NULL,
    actor           uuid,
    description     text        NOT NULL,
    data            jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, stream_sequence)
);

SELECT aurora_protect(t::regclass) FROM unnest(ARRAY['connectors', 'connector_audit']) AS t;
