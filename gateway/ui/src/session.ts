// Who is signed in (GET /api/auth/me), shared by the pages: the role decides which buttons show.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Schemas } from "./api/client";

export type Me = Schemas["Me"];
export const Session = createContext<{ me: Me; refresh: () => void } | null>(null);

export function useMe(): Me {
  const session = useContext(Session);
  if (!session) throw new Error("useMe outside a signed-in page");
  return session.me;
}

/** Editors and admins change things; viewers only look. */
export function canEdit(me: Me): boolean {
  return me.role === "admin" || me.role === "editor";
}

export function isAdmin(me: Me): boolean {
  return me.role === "admin";
}
