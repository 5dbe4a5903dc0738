// The service graph, drawn whole (graph/layout.ts places it) and explorable: zoom with the
// buttons or the wheel, drag to pan, find a service by name (the view moves to it and it takes
// the focus), pick a node — by click or from the keyboard — to light up its blast radius and
// neighbourhood and list them with its incidents and changes.
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { request, type Schemas } from "../api/client";
import { Drawing, clampZoom, type View } from "../graph/Drawing";
import { layout } from "../graph/layout";
import { NodePanel, highlightOf, useAround } from "../graph/NodePanel";
import { Loading, plural, useLoad } from "../ui";

type Node = Schemas["GraphNode"];
type Edge = Schemas["GraphEdge"];

/** Nodes drawn at most: past this a drawing says nothing a search would not say better. */
const MAX_NODES = 5000;
const PAGE = 1000;

/** Every node of the organisation's graph (to MAX_NODES) and the edges among them. */
async function wholeGraph(): Promise<{ nodes: Node[]; edges: Edge[]; more: boolean }> {
  const nodes: Node[] = [];
  const edges: Edge[] = [];
  let cursor: string | undefined;
  do {
    const page = await request("get", "/api/graph", { params: { query: { limit: PAGE, cursor } } });
    nodes.push(...page.nodes);
    edges.push(...page.edges);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && nodes.length < MAX_NODES);
  const ids = new Set(nodes.map((n) => n.id));
  return { nodes, edges: edges.filter((e) => ids.has(e.from_id) && ids.has(e.to_id)), more: !!cursor };
}

export function Graph() {
  const graph = useLoad(wholeGraph, []);
  const [selected, setSelected] = useState<string | null>(null);
  const [view, setView] = useState<View>({ k: 1, x: 0, y: 0 });
  const [wanted, setWanted] = useState("");
  const [said, setSaid] = useState("");
  const [focus, setFocus] = useState<string | null>(null);
  const around = useAround(selected);

  const nodes = graph.data?.nodes ?? [];
  const edges = graph.data?.edges ?? [];
  const placed = useMemo(
    () => layout(nodes.map((n) => n.id), edges.map((e) => ({ from: e.from_id, to: e.to_id }))),
    [graph.data],
  );
  const whole = useCallback(
    () => setView({ k: 1, x: placed.box.x + placed.box.width / 2, y: placed.box.y + placed.box.height / 2 }),
    [placed],
  );
  useEffect(whole, [whole]);
  // A node found by the search takes the focus once it is drawn where the view moved to.
  useEffect(() => {
    if (!focus) return;
    (document.querySelector(`[data-node="${focus}"]`) as SVGGElement | null)?.focus();
    setFocus(null);
  }, [focus]);

  const names = useMemo(() => new Map(nodes.map((n) => [n.id, n.name])), [nodes]);
  const node = nodes.find((n) => n.id === selected);
  // The answers about the node picked before stay until the new ones come: not to be lit up.
  const current = around.data && around.data.blast.node.id === selected ? around.data : null;
  const highlight = highlightOf(selected, current);

  const find = (e: Event) => {
    e.preventDefault();
    const text = wanted.trim().toLowerCase();
    if (!text) return;
    const hit =
      nodes.find((n) => n.name.toLowerCase() === text || n.key === text) ??
      nodes.find((n) => n.name.toLowerCase().includes(text) || n.key.includes(text));
    if (!hit) {
      setSaid(`No service matches “${wanted.trim()}”.`);
      return;
    }
    const p = placed.at.get(hit.id)!;
    setSaid(`Found ${hit.name}.`);
    setSelected(hit.id);
    setView({ k: Math.max(view.k, 2), x: p.x, y: p.y });
    setFocus(hit.id);
  };
  const zoom = (factor: number) => setView({ ...view, k: clampZoom(view.k * factor) });

  return (
    <section>
      <h1>Service graph</h1>
      {!graph.data ? (
        <Loading error={graph.error} retry={graph.reload} />
      ) : nodes.length === 0 ? (
        <p>No services known yet. Alerts, changes, connectors and declared edges add them.</p>
      ) : (
        <>
          <form class="filters" role="search" onSubmit={find}>
            <label>
              Find a service
              <input type="search" list="service-names" value={wanted} onInput={(e) => setWanted(e.currentTarget.value)} />
            </label>
            <datalist id="service-names">
              {nodes.map((n) => (
                <option key={n.id} value={n.name} />
              ))}
            </datalist>
            <button type="submit">Find</button>
            <span role="status" class="muted">
              {said}
            </span>
          </form>
          <div class="zoom" role="toolbar" aria-label="Zoom">
            <button type="button" onClick={() => zoom(1.5)} aria-label="Zoom in">
              +
            </button>
            <button type="button" onClick={() => zoom(1 / 1.5)} aria-label="Zoom out">
              −
            </button>
            <button type="button" onClick={whole}>
              Show all
            </button>
            <output aria-label="Zoom level">{Math.round(view.k * 100)}%</output>
            <span class="muted">
              {plural(nodes.length, "service")}, {plural(edges.length, "dependency", "dependencies")}
              {graph.data.more ? ` (the first ${nodes.length} drawn)` : ""}. Drag to move; wheel to zoom.
            </span>
          </div>
          <div class="graph">
            <Drawing
              nodes={nodes}
              edges={edges}
              layout={placed}
              view={view}
              onView={setView}
              highlight={highlight}
              onPick={setSelected}
            />
            {node ? (
              <NodePanel node={node} around={current} error={around.error} names={names} onPick={setSelected} />
            ) : (
              <p class="muted">Pick a service to see its blast radius, neighbours, incidents and changes.</p>
            )}
          </div>
          <p class="muted legend-line">
            <span class="legend legend-selected" /> selected <span class="legend legend-blast" /> in its blast radius
            (what an outage of it reaches; dashed ring) <span class="legend legend-near" /> its neighbours · arrows point from
            a service to what it depends on.
          </p>
        </>
      )}
    </section>
  );
}
