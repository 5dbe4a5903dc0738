// A small history router: the gateway answers every page path with index.html, so deep links
// and reloads land on the right page.
import { useEffect, useState } from "preact/hooks";

export function navigate(to: string) {
  if (to !== location.pathname + location.search) history.pushState(null, "", to);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const changed = () => setPath(location.pathname);
    addEventListener("popstate", changed);
    return () => removeEventListener("popstate", changed);
  }, []);
  return path;
}

/** Follows a same-origin link without reloading the page. */
export function follow(event: MouseEvent) {
  const link = (event.target as HTMLElement).closest("a");
  if (!link || link.origin !== location.origin || link.target || link.hasAttribute("download"))
    return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(link.pathname + link.search);
}
