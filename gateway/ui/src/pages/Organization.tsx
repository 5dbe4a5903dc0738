// The organisation: members and roles, invitations, API tokens, the audit log, correlation
// settings with their dry run, and the agent's command policy. Only admins see the buttons that
// change them.
import { useState } from "preact/hooks";
import { request } from "../api/client";
import { isAdmin, useMe } from "../session";
import { Correlation } from "./Correlation";
import { Policy } from "./Policy";
import { ErrorText, Loading, When, useAction, useLoad } from "../ui";

const ROLES = ["viewer", "editor", "admin"];

export function Organization() {
  const me = useMe();
  const admin = isAdmin(me);
  const members = useLoad(() => request("get", "/api/members"), []);
  const invitations = useLoad(() => (admin ? request("get", "/api/invitations") : Promise.resolve(null)), [admin]);
  const tokens = useLoad(() => request("get", "/api/tokens"), []);
  const audit = useLoad(() => (admin ? request("get", "/api/audit-log") : Promise.resolve(null)), [admin]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("viewer");
  const [tokenName, setTokenName] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const { error, busy, run } = useAction();
  // Every change here is an audited admin action: the audit log is read again after each.
  const act = (action: () => Promise<unknown>, then: () => void) =>
    run(action).then((ok) => {
      if (!ok) return;
      then();
      if (admin) audit.reload();
    });

  return (
    <section>
      <h1>Organisation</h1>
      <ErrorText error={error} />
      <h2>Members</h2>
      {!members.data ? (
        <Loading error={members.error} retry={members.reload} />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
            </tr>
          </thead>
          <tbody>
            {members.data.items.map((m) => (
              <tr key={m.user_id}>
                <td>{m.email}</td>
                <td>
                  {admin && m.user_id !== me.user.id ? (
                    <select
                      aria-label={`Role of ${m.email}`}
                      value={m.role}
                      disabled={busy}
                      onChange={(e) =>
                        act(
                          () =>
                            request("patch", "/api/members/{user_id}", {
                                params: { path: { user_id: m.user_id } },
                                body: { role: e.currentTarget.value },
                              }),
                          members.reload,
                        )
                      }
                    >
                      {ROLES.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                <td>
                  <When at={m.joined_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {admin && (
        <>
          <h2>Invitations</h2>
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              act(async () => {
                const created = await request("post", "/api/invitations", { body: { email, role } });
                setSecret(`Invitation for ${created.email}: token ${created.token}`);
                setEmail("");
              }, invitations.reload);
            }}
          >
            <label>
              Email
              <input type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </label>
            <label>
              Role
              <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
                {ROLES.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </label>
            <button type="submit" disabled={busy}>
              Invite
            </button>
          </form>
          <ErrorText error={invitations.error} />
          <ul>
            {(invitations.data?.items ?? []).map((i) => (
              <li key={i.id}>
                {i.email} ({i.role}) — {i.status}, expires <When at={i.expires_at} />
              </li>
            ))}
          </ul>
        </>
      )}

      <h2>API tokens</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          act(async () => {
            const created = await request("post", "/api/tokens", { body: { name: tokenName } });
            setSecret(`Token ${created.name} (shown once): ${created.token}`);
            setTokenName("");
          }, tokens.reload);
        }}
      >
        <label>
          Token name
          <input required value={tokenName} onInput={(e) => setTokenName(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Create token
        </button>
      </form>
      {secret && (
        <p class="notice" role="status">
          <code>{secret}</code>
        </p>
      )}
      <ErrorText error={tokens.error} />
      <ul>
        {(tokens.data?.items ?? []).map((t) => (
          <li key={t.id}>
            {t.name} — {t.revoked ? "revoked" : <>expires <When at={t.expires_at} /></>}{" "}
            {!t.revoked && (
              <button
                type="button"
                aria-label={`Revoke ${t.name}`}
                disabled={busy}
                onClick={() =>
                  act(() => request("delete", "/api/tokens/{id}", { params: { path: { id: t.id } } }), tokens.reload)
                }
              >
                Revoke
              </button>
            )}
          </li>
        ))}
      </ul>

      {admin && (
        <>
          <h2>Audit log</h2>
          {!audit.data ? (
            <Loading error={audit.error} retry={audit.reload} />
          ) : (
            <ol class="timeline">
              {audit.data.items.map((a) => (
                <li key={a.sequence}>
                  <When at={a.at} /> — {a.description}
                </li>
              ))}
            </ol>
          )}
          <h2>Correlation</h2>
          <Correlation />
        </>
      )}

      <h2>The agent's command policy</h2>
      <Policy admin={admin} />
    </section>
  );
}
