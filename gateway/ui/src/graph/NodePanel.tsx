// What the graph knows around one node: its neighbourhood, its blast radius (everything that
// depends on it, with the path an outage would take), its incidents and its changes.
import { request, type Schemas } from "../api/client";
import { Badge, ErrorText, Loading, When, plural, useLoad } from "../ui";
import { edgeKey, type Highlight } from "./Drawing";

type Node = Schemas["GraphNode"];
export type Around = {
  hood: Schemas["Neighbourhood"];
  blast: Schemas["BlastRadius"];
  incidents: Schemas["NodeIncidents"];
  changes: Schemas["NodeChanges"];
};

/** The four answers about node `id` (none while `id` is null). */
export function useAround(id: string | null) {
  return useLoad(async (): Promise<Around | null> => {
    if (!id) return null;
    const path = { path: { id } };
    const [hood, blast, incidents, changes] = await Promise.all([
      request("get", "/api/graph/services/{id}/neighbourhood", { params: { ...path, query: { depth: 2 } } }),
      request("get", "/api/graph/services/{id}/blast-radius", { params: path }),
      request("get", "/api/graph/services/{id}/incidents", { params: path }),
      request("get", "/api/graph/services/{id}/changes", { params: path }),
    ]);
    return { hood, blast, incidents, changes };
  }, [id]);
}

/** What the drawing lights up for `around` (of the selected node `id`). */
export function highlightOf(id: string | null, around: Around | null): Highlight {
  const blastEdges = new Set<string>();
  // Each path runs from a dependent to the selected node: each step is a dependency edge.
  for (const r of around?.blast.affected ?? [])
    for (let i = 0; i + 1 < r.path.length; i++) blastEdges.add(edgeKey(r.path[i], r.path[i + 1]));
  return {
    selected: id,
    blast: new Set((around?.blast.affected ?? []).map((r) => r.node.id)),
    blastEdges,
    near: new Set((around?.hood.nodes ?? []).filter((r) => r.depth > 0).map((r) => r.node.id)),
  };
}

export function NodePanel({
  node,
  around,
  error,
  names,
  onPick,
}: {
  node: Node;
  around: Around | null;
  error: string | null;
  names: Map<string, string>;
  onPick: (id: string) => void;
}) {
  const pick = (n: Node) => (
    <button type="button" class="link" onClick={() => onPick(n.id)}>
      {n.name}
    </button>
  );
  return (
    <section class="node-panel" aria-labelledby="node-name">
      <h2 id="node-name">{node.name}</h2>
      <p class="muted">
        {node.node_type.replace(/_/g, " ")} · {node.provider}
        {node.region ? ` · ${node.region}` : ""}
        {node.stale ? " · stale" : ""} · last seen <When at={node.last_seen} />
      </p>
      {!around ? (
        <Loading error={error} />
      ) : (
        <>
          <h3>Blast radius</h3>
          {around.blast.affected.length === 0 ? (
            <p data-testid="blast-radius">Nothing depends on {node.name}: an outage of it stays there.</p>
          ) : (
            <>
              <p data-testid="blast-radius">
                An outage of {node.name} reaches {plural(around.blast.affected.length, "service")}:
              </p>
              <ul aria-label={`Blast radius of ${node.name}`}>
                {around.blast.affected.map((r) => (
                  <li key={r.node.id}>
                    {pick(r.node)} <span class="muted">through {r.path.map((id) => names.get(id) ?? id).join(" → ")}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
          <h3>Neighbours</h3>
          {around.hood.nodes.length <= 1 ? (
            <p>No edges: nothing known depends on it, or it on anything.</p>
          ) : (
            <ul aria-label={`Neighbours of ${node.name}`}>
              {around.hood.nodes
                .filter((r) => r.depth > 0)
                .map((r) => (
                  <li key={r.node.id}>
                    {pick(r.node)} <span class="muted">{plural(r.depth, "hop")} away</span>
                  </li>
                ))}
            </ul>
          )}
          <h3>Incidents</h3>
          {around.incidents.items.length === 0 ? (
            <p>None.</p>
          ) : (
            <ul aria-label={`Incidents of ${node.name}`}>
              {around.incidents.items.map((i) => (
                <li key={i.id}>
                  <a href={`/incidents/${i.id}`}>{i.title}</a> <Badge kind={i.status}>{i.status}</Badge>{" "}
                  <span class="muted">
                    <When at={i.started_at} />
                  </span>
                </li>
              ))}
            </ul>
          )}
          <h3>Changes</h3>
          {around.changes.items.length === 0 ? (
            <p>None.</p>
          ) : (
            <ul aria-label={`Changes of ${node.name}`}>
              {around.changes.items.map((c) => (
                <li key={c.id}>
                  {c.kind}: {c.title}{" "}
                  <span class="muted">
                    {c.version ? `version ${c.version} · ` : ""}from {c.source} · <When at={c.at} />
                  </span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <ErrorText error={around ? error : null} />
    </section>
  );
}
