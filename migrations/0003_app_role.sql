-- The gateway runs every statement as `aurora_app` (its pool does `SET ROLE aurora_app` on each
-- new connection; see `Services::new`): neither superuser nor owner, so row-level security binds
-- it everywhere, not only in `queries::scoped`. Projectors, handlers and migrations keep the
-- connecting (owner) role.
--
-- What the gateway needs before it knows the tenant — finding the owner of a token, an
-- invitation, a user's password hash and memberships — goes through the SECURITY DEFINER
-- functions below. Each takes a secret's hash (or an already authenticated user id) and returns
-- only the rows it names, so the app role never reads across tenants itself.

GRANT SELECT ON projector_checkpoints TO aurora_app;

-- Registration inserts users; the app role may see ids and emails (to learn a conflict) but not
-- password hashes, which only `aurora_user_credentials` reads.
GRANT INSERT ON users TO aurora_app;
GRANT SELECT (id, email) ON users TO aurora_app;
-- Sessions are created inside a scoped transaction (RLS checks the tenant) and revoked through
-- `aurora_revoke_session`.
GRANT INSERT ON auth_sessions TO aurora_app;

CREATE FUNCTION aurora_user_credentials(p_email text)
RETURNS TABLE (id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT id, password_hash FROM users WHERE email = p_email
$$;

-- A session counts only if it began after its user (last) joined the organisation: a member
-- removed and later invited back does not get old sessions back.
CREATE FUNCTION aurora_session_owner(p_hash text)
RETURNS TABLE (user_id uuid, email text, tenant_id text, organization_id uuid, role text, token_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT s.user_id, m.email, s.tenant_id, o.id, m.role, NULL::uuid
    FROM auth_sessions s
    JOIN org_members m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id
    JOIN organizations o ON o.tenant_id = s.tenant_id
    WHERE s.token_hash = p_hash AND s.revoked_at IS NULL AND s.expires_at > now()
      AND s.created_at >= m.joined_at
$$;

CREATE FUNCTION aurora_api_token_owner(p_hash text)
RETURNS TABLE (user_id uuid, email text, tenant_id text, organization_id uuid, role text, token_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT t.user_id, m.email, t.tenant_id, o.id, m.role, t.id
    FROM api_tokens t
    JOIN org_members m ON m.tenant_id = t.tenant_id AND m.user_id = t.user_id
    JOIN organizations o ON o.tenant_id = t.tenant_id
    WHERE t.token_hash = p_hash AND NOT t.revoked AND t.expires_at > now()
$$;

CREATE FUNCTION aurora_invitation_by_token(p_hash text)
RETURNS TABLE (tenant_id text, organization_id uuid, organization_name text, id uuid, email text,
               role text, status text, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT i.tenant_id, o.id, o.name, i.id, i.email, i.role, i.status, i.expires_at
    FROM org_invitations i JOIN organizations o ON o.tenant_id = i.tenant_id
    WHERE i.token_hash = p_hash
$$;

CREATE FUNCTION aurora_memberships(p_user uuid)
RETURNS TABLE (tenant_id text, organization_id uuid, organization_name text, role text, joined_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT m.tenant_id, o.id, o.name, m.role, m.joined_at
    FROM org_members m JOIN organizations o ON o.tenant_id = m.tenant_id
    WHERE m.user_id = p_user ORDER BY m.joined_at, m.tenant_id
$$;

CREATE FUNCTION aurora_revoke_session(p_hash text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
    UPDATE auth_sessions SET revoked_at = now() WHERE token_hash = p_hash AND revoked_at IS NULL
$$;

REVOKE EXECUTE ON FUNCTION aurora_user_credentials(text), aurora_session_owner(text),
    aurora_api_token_owner(text), aurora_invitation_by_token(text), aurora_memberships(uuid),
    aurora_revoke_session(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aurora_user_credentials(text), aurora_session_owner(text),
    aurora_api_token_owner(text), aurora_invitation_by_token(text), aurora_memberships(uuid),
    aurora_revoke_session(text) TO aurora_app;
