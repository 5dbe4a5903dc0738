// The incident list: newest first, filtered by status, severity, service and source, searched in
// titles and summaries — all by the API, so a match far down the list is found and "Older" keeps
// the filters — paged with the API's cursor, and live: a new incident or a change appears by itself.
import { useEffect, useState } from "preact/hooks";
import { request } from "../api/client";
import { soon, useLive } from "../live";
import { Badge, ErrorText, Loading, When, useLoad } from "../ui";

const STATUSES = ["investigating", "analyzed", "resolved", "merged"];
const SEVERITIES = ["critical", "high", "medium", "low", "info", "unknown"];
const PAGE = 50;

export function Incidents() {
  const [status, setStatus] = useState("");
  const [severity, setSeverity] = useState("");
  // What the service field holds, and what is asked for (as the search: after a pause in typing;
  // the field keeps what was typed while live updates redraw the list).
  const [serviceTyped, setServiceTyped] = useState("");
  const [service, setService] = useState("");
  const [source, setSource] = useState("");
  // What the search box holds, and what is asked for: typing waits for a pause before a request.
  const [typed, setTyped] = useState("");
  const [search, setSearch] = useState("");
  const [cursors, setCursors] = useState<string[]>([]);
  const sources = useLoad(() => request("get", "/api/integrations/sources"), []);
  useEffect(() => {
    if (typed === search && serviceTyped === service) return;
    const wait = setTimeout(() => {
      setSearch(typed);
      setService(serviceTyped);
      setCursors([]);
    }, 250);
    return () => clearTimeout(wait);
  }, [typed, search, serviceTyped, service]);
  const cursor = cursors[cursors.length - 1];
  const { data, error, reload } = useLoad(
    () =>
      request("get", "/api/incidents", {
          params: {
            query: {
              status: status || undefined,
              severity: severity || undefined,
              service: service.trim() || undefined,
              source: source || undefined,
              q: search.trim() || undefined,
              cursor,
              limit: PAGE,
            },
          },
        }),
    [status, severity, service, source, search, cursor],
  );
  // Any incident event may add or change a row of this page: fetch the page again.
  useLive((event) => {
    if (event.aggregatetype === "incident") soon(reload);
  }, [reload]);

  const shown = data?.items ?? [];
  const filter = (set: (v: string) => void) => (e: Event) => {
    set((e.currentTarget as HTMLInputElement).value);
    setCursors([]);
  };
  return (
    <section>
      <h1>Incidents</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={filter(setStatus)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={filter(setSeverity)}>
            <option value="">any</option>
            {SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Service
          <input value={serviceTyped} onInput={(e) => setServiceTyped(e.currentTarget.value)} placeholder="checkout" />
        </label>
        <label>
          Source
          <select value={source} onChange={filter(setSource)}>
            <option value="">any</option>
            {(sources.data?.items ?? []).map((s) => (
              <option key={s.name} value={s.name}>
                {s.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search titles and summaries
          <input type="search" value={typed} maxLength={200} onInput={(e) => setTyped(e.currentTarget.value)} />
        </label>
      </form>
      {!data ? (
        <Loading error={error} retry={reload} />
      ) : shown.length === 0 ? (
        <p>No incidents match. New ones appear here as they open.</p>
      ) : (
        <table class="incidents">
          <caption class="sr-only">Incidents, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Incident</th>
              <th scope="col">Status</th>
              <th scope="col">Service</th>
              <th scope="col">Alerts</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((i) => (
              <tr key={i.id} data-incident={i.id}>
                <td>
                  <Badge kind={i.severity}>{i.severity}</Badge>
                </td>
                <td>
                  <a href={`/incidents/${i.id}`}>{i.title}</a>
                  <div class="muted">{i.source}</div>
                </td>
                <td>
                  <Badge kind={i.status}>{i.status}</Badge>
                  <div class="muted">RCA {i.rca_status}</div>
                </td>
                <td>{i.service}</td>
                <td>{i.correlated_alert_count}</td>
                <td>
                  <When at={i.started_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorText error={(data ? error : null) ?? sources.error} />
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={!data?.next_cursor}
          onClick={() => data?.next_cursor && setCursors([...cursors, data.next_cursor])}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
