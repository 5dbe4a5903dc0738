// An integration's recent deliveries: the alerts it brought in, newest first, each with the
// incident it opened or joined and why; paged with the API's cursor.
import { useState } from "preact/hooks";
import { request } from "../api/client";
import { Loading, When, useLoad } from "../ui";

const PAGE = 10;

export function Deliveries({ id, name }: { id: string; name: string }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const { data, error } = useLoad(
    () =>
      request("get", "/api/integrations/{id}/deliveries", {
        params: { path: { id }, query: { limit: PAGE, cursor } },
      }),
    [id, cursor],
  );
  if (!data) return <Loading error={error} />;
  if (!data.items.length && !cursors.length)
    return <p class="muted">No alerts delivered yet: they are listed here as they arrive.</p>;
  return (
    <>
      <table>
        <caption class="sr-only">Alerts {name} delivered, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Alert</th>
            <th scope="col">Became</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {data.items.map((d) => (
            <tr key={d.id}>
              <td>
                <When at={d.received_at} />
              </td>
              <td>
                {d.title}
                <div class="muted">{d.service}</div>
              </td>
              <td>
                <a href={`/incidents/${d.incident_id}`}>{d.opened ? "opened an incident" : "joined an incident"}</a>
              </td>
              <td>{d.decision}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label={`Pages of ${name}'s deliveries`}>
        <button type="button" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={!data.next_cursor}
          onClick={() => data.next_cursor && setCursors([...cursors, data.next_cursor])}
        >
          Older
        </button>
      </nav>
    </>
  );
}
