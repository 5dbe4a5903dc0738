-- Incident metrics (`GET /api/metrics/summary`) read `incidents` by `started_at` (indexed by
-- `incidents_by_start`) and `investigations` by `requested_at`, which had no index of its own.

CREATE INDEX investigations_by_request ON investigations (tenant_id, requested_at);
