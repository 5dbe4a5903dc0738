// The API client: request and answer types generated from the gateway's /openapi.json
// (`npm run types`, openapi-typescript), a small typed fetch. The session is the HttpOnly cookie
// the gateway sets at sign-in.
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

type Method = "get" | "post" | "put" | "patch" | "delete";
type Json<R> = R extends { content: { "application/json": infer B } } ? B : null;
type Success<Op> = Op extends { responses: infer Rs }
  ? Json<Rs[Extract<keyof Rs, 200 | 201 | 202 | 204>]>
  : never;
/** What `method path` answers when it succeeds, as /openapi.json describes it. */
export type Answer<P extends keyof paths, M extends Method> = Success<NonNullable<paths[P][M]>>;
type Body<Op> = Op extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;

type Options<P extends keyof paths, M extends Method> = {
  params?: {
    path?: Record<string, string | number>;
    query?: Record<string, string | number | boolean | null | undefined>;
  };
  body?: Body<NonNullable<paths[P][M]>>;
};

/** Words for what the API answered when it refused: its `{error:{code,message}}`, else the status. */
export function problem(body: unknown, response?: Response): string {
  const error = (body as { error?: { message?: string } } | null)?.error;
  if (error?.message) return error.message;
  if (response) return `The server answered ${response.status} ${response.statusText}.`;
  return "The server could not be reached. Check your connection and try again.";
}

/** Calls the API; its answer, or an Error saying in words what went wrong. */
export async function request<P extends keyof paths, M extends Method>(
  method: M,
  path: P,
  options: Options<P, M> = {},
): Promise<Answer<P, M>> {
  let url = String(path).replace(/\{(\w+)\}/g, (_, name) =>
    encodeURIComponent(String(options.params?.path?.[name] ?? "")),
  );
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(options.params?.query ?? {}))
    if (v !== undefined && v !== null && v !== "") query.set(k, String(v));
  if ([...query].length) url += `?${query}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: method.toUpperCase(),
      credentials: "same-origin",
      headers: options.body === undefined ? {} : { "content-type": "application/json" },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new Error(problem(null));
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(problem(body, response), response.status);
  return body as Answer<P, M>;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
