-- Changes (deployments, merged pull requests, successful builds) per tenant: the read model of the
-- `Change` aggregate, for `GET /api/changes` and an incident's "changes in the hour before".

INSERT INTO projector_checkpoints (projector) VALUES ('changes');

CREATE TABLE changes (
    tenant_id       text        NOT NULL,
    id              uuid        NOT NULL,
    source          text        NOT NULL,
    change_id       text        NOT NULL,
    kind            text        NOT NULL,
    service         text        NOT NULL,
    environment     text,
    version         text,
    title           text        NOT NULL,
    author          text,
    at              timestamptz NOT NULL,
    url             text,
    integration_id  uuid        NOT NULL,
    stream_sequence bigint      NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX changes_by_time ON changes (tenant_id, at DESC, id);
CREATE INDEX changes_by_service ON changes (tenant_id, service, at DESC);

SELECT aurora_protect('changes');
