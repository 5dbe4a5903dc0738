-- Postmortems (SPEC §3): every version of every incident's postmortem, written by the
-- `postmortems` projector from the `Postmortem` aggregate's events. Each event makes exactly one
-- version, written once and never changed, so the projector folds no state (as `changes`): the
-- latest version is the highest number. Rows are found by the postmortem's id, which the API
-- derives from the incident's (`aurora_domain::postmortem::postmortem_id`).

INSERT INTO projector_checkpoints (projector) VALUES ('postmortems');

CREATE TABLE postmortem_versions (
    tenant_id       text        NOT NULL,
    postmortem_id   uuid        NOT NULL,
    version         integer     NOT NULL,
    -- generated | regenerated | edited | restored
    kind            text        NOT NULL,
    -- how it came to be, as the domain says it (`postmortem::Change`): the model and its cost or
    -- the template and why, the version an edit was based on, the version restored
    change          jsonb       NOT NULL,
    -- the person behind it; null for the generation on resolve
    by              text,
    at              timestamptz NOT NULL,
    chars           integer     NOT NULL,
    markdown        text        NOT NULL,
    stream_sequence bigint      NOT NULL,
    PRIMARY KEY (tenant_id, postmortem_id, version)
);

SELECT aurora_protect('postmortem_versions');
