-- LLM usage: one row per model call (a `session.usage_recorded` event), so usage and cost can be
-- summed per tenant, session, model and day (`GET /api/llm-usage`). Written by the sessions
-- projector; `incident_id` is for calls made by an incident's investigation.

CREATE TABLE llm_usage (
    tenant_id       text        NOT NULL,
    stream_sequence bigint      NOT NULL,
    session_id      uuid,
    incident_id     uuid,
    model           text        NOT NULL,
    at              timestamptz NOT NULL,
    day             date        NOT NULL,
    input_tokens    bigint      NOT NULL,
    output_tokens   bigint      NOT NULL,
    cost_micros     bigint      NOT NULL,
    PRIMARY KEY (tenant_id, stream_sequence)
);
CREATE INDEX llm_usage_by_day ON llm_usage (tenant_id, day);

SELECT aurora_protect('llm_usage');
