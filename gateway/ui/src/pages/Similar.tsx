// Similar past incidents on the incident page: what happened before, one click away, with why
// each is called similar (how alike the texts are — by meaning with the embedding model, else by
// title words — and the same service).
import { request } from "../api/client";
import { Badge, Loading, When, useLoad } from "../ui";

export function Similar({ id }: { id: string }) {
  const { data, error } = useLoad(
    () => request("get", "/api/incidents/{id}/similar", { params: { path: { id }, query: { limit: 5 } } }),
    [id],
  );
  return (
    <section aria-labelledby="similar">
      <h2 id="similar">Similar incidents</h2>
      {!data ? (
        <Loading error={error} />
      ) : data.items.length === 0 ? (
        <p class="muted">
          {data.compared === 0
            ? "No other incident to compare it with yet."
            : data.compared === 1
              ? "The one other incident is not alike."
              : `None of the ${data.compared} other incidents is alike.`}
        </p>
      ) : (
        <ul class="cards">
          {data.items.map(({ incident, similarity }) => (
            <li key={incident.id}>
              <a href={`/incidents/${incident.id}`}>{incident.title}</a>{" "}
              <Badge kind={incident.status}>{incident.status}</Badge>
              <div class="muted">
                {incident.service} · started <When at={incident.started_at} /> · similarity{" "}
                {similarity.score.toFixed(2)} ({data.basis === "embedding" ? "meaning" : "title words"}{" "}
                {similarity.title.toFixed(2)}, service{" "}
                {similarity.service.toFixed(2)})
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
