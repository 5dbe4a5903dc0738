// Aurora's web UI: the shell (navigation, who is signed in) and the page for each path.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { ApiError, request } from "./api/client";
import { disconnect } from "./live";
import { follow, navigate, usePath } from "./router";
import { Session, type Me } from "./session";
import { Loading } from "./ui";
import { SignIn } from "./pages/SignIn";
import { Incidents } from "./pages/Incidents";
import { IncidentPage } from "./pages/Incident";
import { Integrations } from "./pages/Integrations";
import { Metrics } from "./pages/Metrics";
import { Organization } from "./pages/Organization";
import { Graph } from "./pages/Graph";
import { Connectors } from "./pages/Connectors";
import { Chat } from "./pages/Chat";
import { Knowledge } from "./pages/Knowledge";

const NAV: [string, string][] = [
  ["/", "Incidents"],
  ["/chat", "Chat"],
  ["/integrations", "Integrations"],
  ["/connectors", "Connectors"],
  ["/graph", "Service graph"],
  ["/knowledge", "Knowledge base"],
  // Not /metrics: that is the Prometheus scrape, so a reload or a link there would get its text.
  ["/metrics-and-usage", "Metrics & usage"],
  ["/organization", "Organisation"],
];

function Page({ path }: { path: string }) {
  const incident = path.match(/^\/incidents\/([0-9a-f-]{36})$/);
  if (incident) return <IncidentPage id={incident[1]} />;
  const chat = path.match(/^\/chat(?:\/([0-9a-f-]{36}))?$/);
  if (chat) return <Chat id={chat[1] ?? null} />;
  switch (path) {
    case "/":
      return <Incidents />;
    case "/integrations":
      return <Integrations />;
    case "/connectors":
      return <Connectors />;
    case "/graph":
      return <Graph />;
    case "/knowledge":
      return <Knowledge />;
    case "/metrics-and-usage":
      return <Metrics />;
    case "/organization":
      return <Organization />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page at {path}. <a href="/">Go to the incidents</a>.
          </p>
        </section>
      );
  }
}

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  // Why who is signed in could not be read (not a 401, which means signed out).
  const [unknown, setUnknown] = useState<string | null>(null);
  const refresh = () =>
    request("get", "/api/auth/me").then(
      (answer) => {
        setUnknown(null);
        setMe(answer);
      },
      (e: Error) => {
        if (e instanceof ApiError && e.status === 401) {
          setUnknown(null);
          setMe(null);
        } else setUnknown(e.message);
      },
    );
  useEffect(() => {
    refresh();
  }, []);
  useEffect(() => {
    const title = NAV.find(([to]) => to === path)?.[1];
    document.title = title ? `${title} · Aurora` : "Aurora";
  }, [path]);

  if (me === undefined)
    return (
      <main id="main" class="narrow">
        {unknown && <h1>Aurora</h1>}
        <Loading
          error={unknown && `Aurora could not say who is signed in: ${unknown}`}
          retry={() => {
            setUnknown(null);
            refresh();
          }}
        />
      </main>
    );
  if (me === null || path === "/sign-in" || path === "/register" || path === "/accept")
    return <SignIn mode={path} signedIn={me !== null} onSignedIn={refresh} />;

  const signOut = async () => {
    await request("post", "/api/auth/logout").catch(() => null);
    disconnect();
    setMe(null);
    navigate("/sign-in");
  };
  return (
    <Session.Provider value={{ me, refresh }}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top" onClick={follow}>
        <a class="brand" href="/">
          Aurora
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <a href={to} aria-current={path === to || (to === "/chat" && path.startsWith("/chat/")) ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {me.user.email} · {me.role}
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" onClick={follow}>
        <Page path={path} />
      </main>
    </Session.Provider>
  );
}

render(<App />, document.getElementById("app")!);
