// A layered drawing of the service graph, small enough to keep here rather than add a library:
// a node sits one row below everything that depends on it (longest path from the top, cycles
// broken where they are met), each row ordered by where its neighbours are (a few barycentre
// sweeps, which untangle most crossings), rows wider than the drawing wrapped, and the nodes no
// edge touches set out in a grid underneath.

export type Point = { x: number; y: number };
export type Layout = {
  at: Map<string, Point>;
  /** The drawing's extent, nodes' centres padded by a margin. */
  box: { x: number; y: number; width: number; height: number };
};

const COLUMN = 150;
const ROW = 90;
const MARGIN = 60;
const MIN_WIDTH = 800;
const MIN_HEIGHT = 500;

export function layout(ids: string[], edges: { from: string; to: string }[]): Layout {
  const known = new Set(ids);
  const down = new Map<string, string[]>(ids.map((id) => [id, []]));
  const up = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const { from, to } of edges) {
    if (!known.has(from) || !known.has(to) || from === to) continue;
    down.get(from)!.push(to);
    up.get(to)!.push(from);
  }
  const linked = ids.filter((id) => down.get(id)!.length || up.get(id)!.length);
  const alone = ids.filter((id) => !down.get(id)!.length && !up.get(id)!.length);

  const rows = order(layers(linked, down, up), down, up);
  // Nodes a row at most: the drawing stays about as wide as it is tall.
  const most = Math.max(8, Math.ceil(Math.sqrt(ids.length) * 1.5));
  const lines: string[][] = [];
  for (const row of rows) for (let i = 0; i < row.length; i += most) lines.push(row.slice(i, i + most));
  for (let i = 0; i < alone.length; i += most) lines.push(alone.slice(i, i + most));

  const at = new Map<string, Point>();
  lines.forEach((line, r) =>
    line.forEach((id, c) => at.set(id, { x: (c - (line.length - 1) / 2) * COLUMN, y: r * ROW })),
  );
  const widest = Math.max(1, ...lines.map((l) => l.length));
  // A small graph is shown at its natural size, not blown up to fill the drawing.
  const width = Math.max(MIN_WIDTH, (widest - 1) * COLUMN + 2 * MARGIN);
  const tall = Math.max(0, lines.length - 1) * ROW;
  const height = Math.max(MIN_HEIGHT, tall + 2 * MARGIN);
  return { at, box: { x: -width / 2, y: tall / 2 - height / 2, width, height } };
}

/** Rows: a node's row is one below the lowest of its dependents' (Kahn's order; on a cycle, the
 * node with the fewest dependents left goes next, which breaks it there). */
function layers(ids: string[], down: Map<string, string[]>, up: Map<string, string[]>): string[][] {
  const waiting = new Map(ids.map((id) => [id, up.get(id)!.length]));
  const row = new Map(ids.map((id) => [id, 0]));
  const ready = ids.filter((id) => waiting.get(id) === 0);
  const done = new Set<string>();
  while (done.size < ids.length) {
    let next = ready.pop();
    if (next === undefined) {
      // A cycle: every node left waits for another. Take the least waiting (first by key order).
      next = ids.filter((id) => !done.has(id)).reduce((a, b) => (waiting.get(b)! < waiting.get(a)! ? b : a));
    }
    if (done.has(next)) continue;
    done.add(next);
    for (const to of down.get(next)!) {
      if (done.has(to)) continue;
      row.set(to, Math.max(row.get(to)!, row.get(next)! + 1));
      const left = waiting.get(to)! - 1;
      waiting.set(to, left);
      if (left === 0) ready.push(to);
    }
  }
  const rows: string[][] = [];
  for (const id of ids) (rows[row.get(id)!] ??= []).push(id);
  return rows.filter(Boolean);
}

/** Orders each row by the mean position of its neighbours in the rows above, then below. */
function order(rows: string[][], down: Map<string, string[]>, up: Map<string, string[]>): string[][] {
  const place = new Map<string, number>();
  const number = (row: string[]) => row.forEach((id, i) => place.set(id, i / Math.max(1, row.length - 1)));
  rows.forEach(number);
  const sweep = (row: string[], near: Map<string, string[]>) => {
    const centre = (id: string) => {
      const ps = near.get(id)!.map((n) => place.get(n)!);
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : place.get(id)!;
    };
    const sorted = row.map((id) => [centre(id), id] as const).sort((a, b) => a[0] - b[0]);
    row.splice(0, row.length, ...sorted.map(([, id]) => id));
    number(row);
  };
  for (let pass = 0; pass < 4; pass++) {
    for (let r = 1; r < rows.length; r++) sweep(rows[r], up);
    for (let r = rows.length - 2; r >= 0; r--) sweep(rows[r], down);
  }
  return rows;
}
