-- The service graph (SPEC §8): one row per node of the `Service` aggregate and one per edge
-- leaving it (`DEPENDS_ON`, `DEPLOYED_IN`), both written from the nodes' events by the `services`
-- projector. A removed node has no row; edges pointing at it are left out by every query (they
-- join the nodes), so a removal needs no write to other nodes.

INSERT INTO projector_checkpoints (projector) VALUES ('services');

CREATE TABLE service_nodes (
    tenant_id     text             NOT NULL,
    id            uuid             NOT NULL,
    key           text             NOT NULL,
    name          text             NOT NULL,
    node_type     text             NOT NULL,
    provider      text             NOT NULL,
    region        text,
    labels        jsonb            NOT NULL,
    first_seen    timestamptz      NOT NULL,
    last_seen     timestamptz      NOT NULL,
    stale_since   timestamptz,
    last_sequence bigint           NOT NULL,
    state         text             NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX service_nodes_by_key ON service_nodes (tenant_id, key);
CREATE INDEX service_nodes_by_type ON service_nodes (tenant_id, node_type, key);

CREATE TABLE service_edges (
    tenant_id   text             NOT NULL,
    from_id     uuid             NOT NULL,
    to_id       uuid             NOT NULL,
    kind        text             NOT NULL,
    confidence  double precision NOT NULL,
    origin      text             NOT NULL,
    declared_by text,
    PRIMARY KEY (tenant_id, from_id, to_id, kind)
);
-- Blast radius walks edges backwards (who depends on this node).
CREATE INDEX service_edges_by_target ON service_edges (tenant_id, to_id, kind);

SELECT aurora_protect('service_nodes');
SELECT aurora_protect('service_edges');
