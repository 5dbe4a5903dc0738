-- The alerts each integration delivered and what correlation made of each (opened an incident or
-- joined one, and why): the read model of the correlator's decisions (`correlator.decided`), for
-- an integration's recent deliveries. Decisions recorded before they named their integration have
-- none and are not kept. `id` is the alert's place in INBOX (its delivery's sequence and index) as
-- a UUID, the same one that names the incident it opens.

INSERT INTO projector_checkpoints (projector) VALUES ('deliveries');

CREATE TABLE alert_deliveries (
    tenant_id       text        NOT NULL,
    id              uuid        NOT NULL,
    integration_id  uuid        NOT NULL,
    inbox_sequence  bigint      NOT NULL,
    alert_index     integer     NOT NULL,
    alert_id        text        NOT NULL,
    title           text        NOT NULL,
    service         text        NOT NULL,
    received_at     timestamptz NOT NULL,
    incident_id     uuid        NOT NULL,
    opened          boolean     NOT NULL,
    decision        text        NOT NULL,
    stream_sequence bigint      NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX alert_deliveries_by_integration
    ON alert_deliveries (tenant_id, integration_id, received_at DESC, id DESC);

SELECT aurora_protect('alert_deliveries');
