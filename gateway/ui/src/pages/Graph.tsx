// The service graph: search its nodes, pick one to see its neighbourhood drawn (itself in the
// middle, nodes one, two, three hops away on rings), what an outage of it would reach (the blast
// radius, highlighted), and its incidents and changes. Zoom with the slider; every node is a
// button, so the drawing is usable from the keyboard.
import { useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { Badge, ErrorText, Loading, When, useLoad } from "../ui";

type Node = Schemas["GraphNode"];

export function Graph() {
  const [search, setSearch] = useState("");
  const [selected, setSelected] = useState<string | null>(null);
  const page = useLoad(
    () => request("get", "/api/graph", { params: { query: { search, limit: 100 } } }),
    [search],
  );
  return (
    <section>
      <h1>Service graph</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search services
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </form>
      {!page.data ? (
        <Loading error={page.error} />
      ) : page.data.nodes.length === 0 ? (
        <p>No services known yet. Alerts, changes, connectors and declared edges add them.</p>
      ) : (
        <div class="graph">
          <ul class="node-list" aria-label="Services">
            {page.data.nodes.map((n) => (
              <li key={n.id}>
                <button
                  type="button"
                  class="link"
                  aria-pressed={selected === n.id}
                  onClick={() => setSelected(n.id)}
                >
                  {n.name}
                </button>{" "}
                <span class="muted">
                  {n.node_type} · {n.provider}
                  {n.stale ? " · stale" : ""}
                </span>
              </li>
            ))}
          </ul>
          {selected && <NodePanel id={selected} onPick={setSelected} />}
        </div>
      )}
    </section>
  );
}

function NodePanel({ id, onPick }: { id: string; onPick: (id: string) => void }) {
  const [zoom, setZoom] = useState(1);
  const around = useLoad(
    () =>
      Promise.all([
        request("get", "/api/graph/services/{id}/neighbourhood", { params: { path: { id }, query: { depth: 2 } } }),
        request("get", "/api/graph/services/{id}/blast-radius", { params: { path: { id } } }),
        request("get", "/api/graph/services/{id}/incidents", { params: { path: { id } } }),
        request("get", "/api/graph/services/{id}/changes", { params: { path: { id } } }),
      ]),
    [id],
  );
  if (!around.data) return <Loading error={around.error} />;
  const [hood, blast, incidents, changes] = around.data;
  const center = hood.nodes.find((r) => r.depth === 0)?.node;
  const reached = new Set(blast.affected.map((r) => r.node.id));
  const place = layout(hood.nodes);
  const size = 360 / zoom;
  return (
    <div class="node-panel">
      <h2>{center?.name ?? "Service"}</h2>
      <label>
        Zoom
        <input type="range" min={0.5} max={3} step={0.25} value={zoom} onInput={(e) => setZoom(Number(e.currentTarget.value))} />
      </label>
      <svg
        class="graph-drawing"
        role="group"
        aria-label={`Neighbourhood of ${center?.name}; ${reached.size} services in its blast radius`}
        viewBox={`${-size / 2} ${-size / 2} ${size} ${size}`}
        width="100%"
      >
        {hood.edges.map((e) => {
          const a = place.get(e.from_id);
          const b = place.get(e.to_id);
          return a && b ? <line key={`${e.from_id}-${e.to_id}`} x1={a.x} y1={a.y} x2={b.x} y2={b.y} class="edge" /> : null;
        })}
        {hood.nodes.map((r) => {
          const p = place.get(r.node.id)!;
          const kind = r.depth === 0 ? "center" : reached.has(r.node.id) ? "blast" : "plain";
          return (
            <g key={r.node.id} transform={`translate(${p.x} ${p.y})`}>
              <circle r={r.depth === 0 ? 12 : 8} class={`node node-${kind}`} />
              <text y={22} text-anchor="middle" class="node-label" onClick={() => onPick(r.node.id)}>
                {r.node.name}
              </text>
            </g>
          );
        })}
      </svg>
      <p class="muted">
        <span class="legend legend-blast" /> in the blast radius: an outage here reaches {reached.size} service
        {reached.size === 1 ? "" : "s"}.
      </p>
      <h3>Neighbours</h3>
      <ul>
        {hood.nodes
          .filter((r) => r.depth > 0)
          .map((r) => (
            <li key={r.node.id}>
              <button type="button" class="link" onClick={() => onPick(r.node.id)}>
                {r.node.name}
              </button>{" "}
              <span class="muted">{r.depth} hop{r.depth === 1 ? "" : "s"}</span>{" "}
              {reached.has(r.node.id) && <Badge kind="high">blast radius</Badge>}
            </li>
          ))}
      </ul>
      <h3>Incidents</h3>
      {incidents.items.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {incidents.items.map((i) => (
            <li key={i.id}>
              <a href={`/incidents/${i.id}`}>{i.title}</a> <Badge kind={i.status}>{i.status}</Badge>
            </li>
          ))}
        </ul>
      )}
      <h3>Changes</h3>
      {changes.items.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {changes.items.map((c) => (
            <li key={c.id}>
              {c.kind}: {c.title} · <When at={c.at} />
            </li>
          ))}
        </ul>
      )}
      <ErrorText error={around.error} />
    </div>
  );
}

/** Places the start in the middle and each depth on its own ring, evenly spaced. */
function layout(nodes: Schemas["Reached"][]): Map<string, { x: number; y: number }> {
  const rings = new Map<number, Node[]>();
  for (const r of nodes) rings.set(r.depth, [...(rings.get(r.depth) ?? []), r.node]);
  const place = new Map<string, { x: number; y: number }>();
  for (const [depth, ring] of rings)
    ring.forEach((n, i) => {
      const angle = (2 * Math.PI * i) / ring.length + depth * 0.4;
      place.set(n.id, { x: depth * 70 * Math.cos(angle), y: depth * 70 * Math.sin(angle) });
    });
  return place;
}
