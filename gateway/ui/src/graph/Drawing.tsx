// The whole service graph as SVG: every node a keyboard-focusable button with a label that says
// what it is and how it is highlighted, edges as arrows from a dependent to what it depends on.
// Zoom with the wheel (around the pointer) or the page's buttons; drag the background to pan.
import { useEffect, useRef } from "preact/hooks";
import type { Schemas } from "../api/client";
import type { Layout, Point } from "./layout";
import "./graph.css";

type Node = Schemas["GraphNode"];
type Edge = Schemas["GraphEdge"];

/** Where the drawing looks: its centre and magnification (1 shows the whole graph). */
export type View = { k: number; x: number; y: number };
export const MIN_ZOOM = 0.5;
export const MAX_ZOOM = 8;
export const clampZoom = (k: number) => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));

/** What a selection lights up: the node, its blast radius (and the edges of their paths), its
 * neighbourhood. */
export type Highlight = {
  selected: string | null;
  blast: Set<string>;
  blastEdges: Set<string>;
  near: Set<string>;
};

const RADIUS = 11;
export const edgeKey = (from: string, to: string) => `${from}>${to}`;

/** The part of the graph `view` shows of `layout`'s box. */
export function viewBox(layout: Layout, view: View) {
  const width = layout.box.width / view.k;
  const height = layout.box.height / view.k;
  return { x: view.x - width / 2, y: view.y - height / 2, width, height };
}

export function Drawing({
  nodes,
  edges,
  layout,
  view,
  onView,
  highlight,
  onPick,
}: {
  nodes: Node[];
  edges: Edge[];
  layout: Layout;
  view: View;
  onView: (v: View) => void;
  highlight: Highlight;
  onPick: (id: string) => void;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const box = viewBox(layout, view);
  // The wheel listener is added by hand: it must not be passive, to keep the page from scrolling.
  const latest = useRef(view);
  latest.current = view;
  useEffect(() => {
    const element = svg.current;
    if (!element) return;
    const wheel = (e: WheelEvent) => {
      e.preventDefault();
      const v = latest.current;
      const k = clampZoom(v.k * (e.deltaY < 0 ? 1.25 : 0.8));
      const p = toGraph(element, e.clientX, e.clientY);
      // The point under the pointer stays where it is.
      onView({ k, x: p.x + ((v.x - p.x) * v.k) / k, y: p.y + ((v.y - p.y) * v.k) / k });
    };
    element.addEventListener("wheel", wheel, { passive: false });
    return () => element.removeEventListener("wheel", wheel);
  }, [onView]);

  const drag = useRef<{ from: Point; view: View; scale: number } | null>(null);
  const down = (e: PointerEvent) => {
    if ((e.target as Element).closest(".node") || !svg.current) return;
    drag.current = { from: { x: e.clientX, y: e.clientY }, view, scale: svg.current.getScreenCTM()?.a ?? 1 };
    svg.current.setPointerCapture(e.pointerId);
  };
  const move = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    onView({ ...d.view, x: d.view.x - (e.clientX - d.from.x) / d.scale, y: d.view.y - (e.clientY - d.from.y) / d.scale });
  };
  const up = () => (drag.current = null);

  const any = highlight.selected !== null;
  return (
    <svg
      ref={svg}
      class="graph-drawing"
      role="group"
      aria-label={`Service graph: ${nodes.length} services, ${edges.length} dependencies`}
      viewBox={`${box.x} ${box.y} ${box.width} ${box.height}`}
      onPointerDown={down}
      onPointerMove={move}
      onPointerUp={up}
      onPointerCancel={up}
    >
      <defs>
        {["plain", "blast"].map((kind) => (
          <marker key={kind} id={`arrow-${kind}`} viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">
            <path d="M0,0 L8,4 L0,8 z" class={`arrow-${kind}`} />
          </marker>
        ))}
      </defs>
      {edges.map((e) => {
        const a = layout.at.get(e.from_id);
        const b = layout.at.get(e.to_id);
        if (!a || !b) return null;
        const blast = highlight.blastEdges.has(edgeKey(e.from_id, e.to_id));
        const near = highlight.selected === e.from_id || highlight.selected === e.to_id;
        const [x1, y1, x2, y2] = shorten(a, b);
        return (
          <line
            key={edgeKey(e.from_id, e.to_id)}
            x1={x1}
            y1={y1}
            x2={x2}
            y2={y2}
            class={`edge${blast ? " edge-blast" : near ? " edge-near" : any ? " dim" : ""}`}
            marker-end={`url(#arrow-${blast ? "blast" : "plain"})`}
          />
        );
      })}
      {nodes.map((n) => {
        const p = layout.at.get(n.id);
        if (!p) return null;
        const kind =
          n.id === highlight.selected
            ? "selected"
            : highlight.blast.has(n.id)
              ? "blast"
              : highlight.near.has(n.id)
                ? "near"
                : "plain";
        const said = { selected: ", selected", blast: ", in the blast radius", near: ", a neighbour", plain: "" }[kind];
        return (
          <g
            key={n.id}
            class={`node node-${kind}${any && kind === "plain" ? " dim" : ""}`}
            data-node={n.id}
            transform={`translate(${p.x} ${p.y})`}
            role="button"
            tabIndex={0}
            aria-pressed={kind === "selected"}
            aria-label={`${n.name}: ${n.node_type.replace(/_/g, " ")}, ${n.provider}${n.stale ? ", stale" : ""}${said}`}
            onClick={() => onPick(n.id)}
            onKeyDown={(e) => {
              if (e.key === "Enter" || e.key === " ") {
                e.preventDefault();
                onPick(n.id);
              }
            }}
            onFocus={() => {
              // Tabbing to a node out of sight brings it into view.
              if (p.x < box.x || p.x > box.x + box.width || p.y < box.y || p.y > box.y + box.height)
                onView({ ...view, x: p.x, y: p.y });
            }}
          >
            {kind === "blast" && <circle r={RADIUS + 5} class="blast-ring" />}
            <circle r={kind === "selected" ? RADIUS + 3 : RADIUS} />
            <text y={RADIUS + 16} text-anchor="middle">
              {n.name.length > 22 ? `${n.name.slice(0, 21)}…` : n.name}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** The screen point (`clientX`, `clientY`) in the drawing's coordinates. */
function toGraph(svg: SVGSVGElement, x: number, y: number): Point {
  const m = svg.getScreenCTM();
  if (!m) return { x: 0, y: 0 };
  const p = new DOMPoint(x, y).matrixTransform(m.inverse());
  return { x: p.x, y: p.y };
}

/** The segment from `a` to `b`, both ends pulled back to the node's edge (so the arrow shows). */
function shorten(a: Point, b: Point): [number, number, number, number] {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = Math.hypot(dx, dy) || 1;
  const ux = dx / length;
  const uy = dy / length;
  const gap = RADIUS + 4;
  return [a.x + ux * gap, a.y + uy * gap, b.x - ux * gap, b.y - uy * gap];
}
