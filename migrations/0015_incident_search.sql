-- The incident list's search (`?q=`, any case, anywhere in the title or the summary) and source
-- filter (`?source=`), served by the database so that they reach every incident, not only the
-- page a browser holds.
--
-- A search is `ILIKE '%words%'`, which no B-tree serves: trigram GIN indexes do (pg_trgm ships
-- with PostgreSQL's contrib, and is a trusted extension, so the database's owner may create it).
-- A rare word is found through them; a common one is found as fast by walking
-- `incidents_by_start` newest first, and the planner picks between the two. Only a new title or
-- summary updates them (rows are rewritten on every batch; the other columns keep HOT updates
-- as they were).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX incidents_title_trgm ON incidents USING gin (title gin_trgm_ops);
CREATE INDEX incidents_summary_trgm ON incidents USING gin (summary gin_trgm_ops);

-- A source may open few of a tenant's incidents: the list reads them in its keyset order
-- (started_at, id newest first) without walking past the other sources' rows.
CREATE INDEX incidents_by_source ON incidents (tenant_id, source, started_at DESC, id DESC);
