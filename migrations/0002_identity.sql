-- Identity and tenant isolation (SPEC §10).
--
-- Two kinds of tables here:
-- * `users` and `auth_sessions` are the identity store itself, written by the gateway: credentials
--   and login sessions never enter the event log (an append-only log cannot forget a password hash,
--   and sessions churn far too often to be history worth keeping).
-- * `organizations`, `org_members`, `org_invitations`, `api_tokens` and `audit_log` are read models
--   of the `Organization` aggregate, written by the `organizations` projector like any other.
--
-- Row-level security: every table holding a `tenant_id` gets the policy `tenant_isolation` for the
-- role `aurora_app`, which sees only the rows whose tenant is `current_setting('app.tenant_id')`.
-- The gateway's tenant-scoped reads run as that role (`SET LOCAL ROLE` inside the transaction,
-- see `aurora_projections::queries::scoped`), so a query that forgets its tenant filter still sees
-- one tenant. `aurora_app` only reads: projectors and the identity store write as the owner.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aurora_app') THEN
        CREATE ROLE aurora_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
EXCEPTION
    -- Roles are shared by every database of the cluster; a migration of another database may
    -- have created it a moment ago.
    WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- The connecting user must be able to `SET ROLE aurora_app`. A superuser can; anyone else needs
-- membership, granted here when the user may grant it (otherwise an administrator must).
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'aurora_app', 'MEMBER') THEN
        EXECUTE format('GRANT aurora_app TO %I', current_user);
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE WARNING 'cannot grant aurora_app to %: run GRANT aurora_app TO % as an administrator', current_user, current_user;
END $$;

GRANT USAGE ON SCHEMA public TO aurora_app;

-- Turns row-level security on for a tenant table and lets `aurora_app` read its own tenant's rows.
-- `aurora replay` calls it again on the tables it swaps in (`CREATE TABLE … LIKE` copies no policy).
CREATE FUNCTION aurora_protect(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', tbl);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s FOR ALL TO aurora_app
           USING (tenant_id = current_setting(''app.tenant_id'', true))
           WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', tbl);
    EXECUTE format('GRANT SELECT ON %s TO aurora_app', tbl);
END $$;

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    -- lower-cased and trimmed by the gateway before it gets here
    email         text        NOT NULL UNIQUE,
    -- Argon2id PHC string
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_sessions (
    -- SHA-256 of the session token; the token itself is only ever in the client's hands
    token_hash  text        PRIMARY KEY,
    tenant_id   text        NOT NULL,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id);

INSERT INTO projector_checkpoints (projector) VALUES ('organizations');

CREATE TABLE organizations (
    tenant_id     text        NOT NULL,
    id            uuid        NOT NULL,
    name          text        NOT NULL,
    created_at    timestamptz NOT NULL,
    member_count  integer     NOT NULL,
    last_sequence bigint      NOT NULL,
    -- the folded domain state as JSON text (see `incidents.state`)
    state         text        NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE org_members (
    tenant_id text        NOT NULL,
    user_id   uuid        NOT NULL,
    email     text        NOT NULL,
    role      text        NOT NULL,
    joined_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX org_members_by_user ON org_members (user_id);

CREATE TABLE org_invitations (
    tenant_id  text        NOT NULL,
    id         uuid        NOT NULL,
    email      text        NOT NULL,
    role       text        NOT NULL,
    -- SHA-256 of the invitation token
    token_hash text        NOT NULL,
    status     text        NOT NULL,
    invited_by uuid        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX org_invitations_by_token ON org_invitations (token_hash);

CREATE TABLE api_tokens (
    tenant_id  text        NOT NULL,
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    user_id    uuid        NOT NULL,
    -- SHA-256 of the token
    token_hash text        NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked    boolean     NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX api_tokens_by_hash ON api_tokens (token_hash);

CREATE TABLE audit_log (
    tenant_id       text        NOT NULL,
    stream_sequence bigint      NOT NULL,
    event_type      text        NOT NULL,
    at              timestamptz NOT NULL,
    -- the user who acted (or who was denied), when known
    actor           uuid,
    description     text        NOT NULL,
    data            jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, stream_sequence)
);

SELECT aurora_protect(t::regclass) FROM unnest(ARRAY[
    'incidents', 'incident_alerts', 'incident_timeline', 'chat_sessions', 'chat_messages',
    'auth_sessions', 'organizations', 'org_members', 'org_invitations', 'api_tokens', 'audit_log'
]) AS t;
