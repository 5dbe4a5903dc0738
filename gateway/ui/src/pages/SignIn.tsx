// Sign in, register a new organisation, or accept an invitation (register with its token).
import { useState } from "preact/hooks";
import { request } from "../api/client";
import { navigate } from "../router";
import { ErrorText, useAction } from "../ui";

export function SignIn({
  mode,
  signedIn,
  onSignedIn,
}: {
  mode: string;
  signedIn: boolean;
  onSignedIn: () => void;
}) {
  const invitation = new URLSearchParams(location.search).get("token") ?? "";
  const kind = mode === "/register" ? "register" : mode === "/accept" ? "accept" : "sign-in";
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [organization, setOrganization] = useState("");
  const [token, setToken] = useState(invitation);
  const { error, busy, run } = useAction();

  const submit = async (event: Event) => {
    event.preventDefault();
    const ok = await run(async () => {
      if (kind === "sign-in") await request("post", "/api/auth/login", { body: { email, password } });
      else if (kind === "register")
        await request("post", "/api/auth/register", { body: { email, password, organization } });
      else if (signedIn)
        await request("post", "/api/invitations/accept", { body: { invitation: token } });
      else
        await request("post", "/api/auth/register", { body: { email, password, invitation: token } });
    });
    if (ok) {
      navigate("/");
      onSignedIn();
    }
  };
  const title =
    kind === "register" ? "Create an organisation" : kind === "accept" ? "Accept an invitation" : "Sign in";
  return (
    <main id="main" class="narrow">
      <h1>{title}</h1>
      <form onSubmit={submit}>
        {kind === "accept" && (
          <label>
            Invitation token
            <input required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
        )}
        {!(kind === "accept" && signedIn) && (
          <>
            <label>
              Email
              <input
                type="email"
                autoComplete="username"
                required
                value={email}
                onInput={(e) => setEmail(e.currentTarget.value)}
              />
            </label>
            <label>
              Password
              <input
                type="password"
                autoComplete={kind === "sign-in" ? "current-password" : "new-password"}
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
          </>
        )}
        {kind === "register" && (
          <label>
            Organisation name
            <input required value={organization} onInput={(e) => setOrganization(e.currentTarget.value)} />
          </label>
        )}
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          {title}
        </button>
      </form>
      <p>
        {kind !== "sign-in" && <a href="/sign-in" onClick={go("/sign-in")}>Sign in</a>}{" "}
        {kind !== "register" && <a href="/register" onClick={go("/register")}>Create an organisation</a>}{" "}
        {kind !== "accept" && <a href="/accept" onClick={go("/accept")}>I have an invitation</a>}
      </p>
    </main>
  );
}

function go(to: string) {
  return (event: Event) => {
    event.preventDefault();
    navigate(to);
  };
}
