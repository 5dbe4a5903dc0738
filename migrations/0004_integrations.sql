-- Integrations (webhook sources) of each tenant: the read model of the `Integration` aggregate.
-- The secret itself lives in the secret store; `secret_ref` names it.

INSERT INTO projector_checkpoints (projector) VALUES ('integrations');

CREATE TABLE integrations (
    tenant_id     text        NOT NULL,
    id            uuid        NOT NULL,
    source        text        NOT NULL,
    name          text        NOT NULL,
    enabled       boolean     NOT NULL,
    deleted       boolean     NOT NULL,
    settings      jsonb       NOT NULL,
    secret_ref    text        NOT NULL,
    pinned_topic  text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_sequence bigint      NOT NULL,
    state         text        NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX integrations_by_id ON integrations (id);

SELECT aurora_protect('integrations');

-- The gateway learns a delivery's tenant from its integration id (the URL), before any tenant is
-- known: like the token lookups of 0003, through a definer function that answers for one id.
CREATE FUNCTION aurora_integration(p_id uuid)
RETURNS TABLE (tenant_id text, source text, enabled boolean, deleted boolean, secret_ref text,
               pinned_topic text, settings jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT tenant_id, source, enabled, deleted, secret_ref, pinned_topic, settings
    FROM integrations WHERE id = p_id
$$;
REVOKE EXECUTE ON FUNCTION aurora_integration(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aurora_integration(uuid) TO aurora_app;
