// Generates src/api/schema.d.ts from src/api/openapi.json (dumped by `aurora openapi`).
// utoipa names each operation after its handler function, and several handlers share a name
// (`list`, `detail`…): OpenAPI wants operationIds unique, and openapi-typescript would merge the
// duplicates into one type. Each gets `<method> <path>` before the types are generated.
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

const doc = JSON.parse(readFileSync("src/api/openapi.json", "utf8"));
for (const [path, item] of Object.entries(doc.paths))
  for (const [method, op] of Object.entries(item))
    if (op && typeof op === "object" && "responses" in op) op.operationId = `${method} ${path}`;
writeFileSync("src/api/openapi.unique.json", JSON.stringify(doc));
execFileSync("npx", ["openapi-typescript", "src/api/openapi.unique.json", "-o", "src/api/schema.d.ts"], {
  stdio: "inherit",
});
