-- Investigations (root-cause analyses, SPEC §4): the read model of the `Investigation` aggregate,
-- one run per row, written by the `investigations` projector.
--
-- * `investigations`: one row per run, the columns lists, metrics and the sweep need, and the
--   folded domain state (what the projector folds on; see `incidents.state`).
-- * `investigation_items`: what a run produced, one row per item: thoughts, tool steps, findings,
--   suggestions and alerts handed over as context. One table with a `kind` and the item as JSON
--   rather than one table per kind: items are read together, per run, in the order they happened
--   (a UI interleaves thoughts and tool steps), nothing filters on their fields, and their shapes
--   are the domain's own (a new field of a suggestion needs no migration). One table is also one
--   write per batch and one ordered read. A tool step is one row, updated when it finishes.
--
-- An investigation's model calls are rows of `llm_usage` already: the agent runs in a background
-- chat session and records each call there (and its sum on the run). `GET /api/llm-usage` joins
-- them to their run through `session_id` for the per-incident cost, rather than a second row per
-- call that the report would have to leave out again.

INSERT INTO projector_checkpoints (projector) VALUES ('investigations');

CREATE TABLE investigations (
    tenant_id        text        NOT NULL,
    id               uuid        NOT NULL,
    incident_id      uuid        NOT NULL,
    -- the incident's n-th run (1: the one its opening starts)
    episode          integer     NOT NULL,
    -- opened | manual
    trigger          text        NOT NULL,
    requested_by     text,
    -- requested | queued | running | completed | failed | cancelled
    status           text        NOT NULL,
    session_id       uuid,
    model            text,
    worker           text,
    requested_at     timestamptz NOT NULL,
    started_at       timestamptz,
    ended_at         timestamptz,
    last_progress_at timestamptz NOT NULL,
    -- confirmed | likely | inconclusive; `asked_conclusion` is the agent's stronger claim
    conclusion       text,
    asked_conclusion text,
    summary          text,
    -- why it failed or was cancelled
    reason           text,
    model_calls      integer     NOT NULL,
    input_tokens     bigint      NOT NULL,
    output_tokens    bigint      NOT NULL,
    cost_micros      bigint      NOT NULL,
    last_sequence    bigint      NOT NULL,
    state            text        COMPRESSION lz4 NOT NULL,
    PRIMARY KEY (tenant_id, id)
)
-- A running investigation's row is rewritten on every batch (see `incidents`).
WITH (fillfactor = 70, toast_tuple_target = 8160);
CREATE INDEX investigations_by_incident ON investigations (tenant_id, incident_id, episode);
CREATE INDEX investigations_by_status ON investigations (tenant_id, status, last_progress_at);
-- The LLM usage report finds a session's run by it.
CREATE INDEX investigations_by_session ON investigations (tenant_id, session_id);

CREATE TABLE investigation_items (
    tenant_id  text        NOT NULL,
    run_id     uuid        NOT NULL,
    -- thought | tool_step | finding | suggestion | context
    kind       text        NOT NULL,
    -- the item's id within its kind: the thought's ordinal, the step id, the finding and
    -- suggestion id, the alert id
    item_key   text        NOT NULL,
    -- the stream sequence of the event that added it, and its place among that event's items
    position   bigint      NOT NULL,
    idx        integer     NOT NULL,
    at         timestamptz NOT NULL,
    -- the item as the domain state holds it
    data       jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, run_id, kind, item_key)
);
CREATE INDEX investigation_items_in_order ON investigation_items (tenant_id, run_id, position, idx);

SELECT aurora_protect(t::regclass) FROM unnest(ARRAY['investigations', 'investigation_items']) AS t;
