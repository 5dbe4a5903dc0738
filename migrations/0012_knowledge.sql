-- Knowledge base (SPEC §9). knowledge_documents is the read model of the KnowledgeDocument
-- aggregate (projector `knowledge`). knowledge_chunks is the search index made from each stored
-- file by the `knowledge` handler (text extracted, cut, embedded): derived from the file rather
-- than from events (a large PDF's chunks and vectors are tens of megabytes), written in one
-- transaction per document and removed with it.

INSERT INTO projector_checkpoints (projector) VALUES ('knowledge');

CREATE TABLE knowledge_documents (
    tenant_id       text        NOT NULL,
    id              uuid        NOT NULL,
    -- as the uploader named it; shown, never used as a path (object_key is made of ids)
    filename        text        NOT NULL,
    -- markdown | text | pdf
    kind            text        NOT NULL,
    size_bytes      bigint      NOT NULL,
    object_key      text        NOT NULL,
    -- uploading | processing | ready | failed
    status          text        NOT NULL,
    reason          text,
    chunks          integer     NOT NULL,
    characters      bigint      NOT NULL,
    embedding_model text,
    uploaded_by     text        NOT NULL,
    deleted         boolean     NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    processing_since timestamptz,
    last_sequence   bigint      NOT NULL,
    state           text        NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX knowledge_documents_processing ON knowledge_documents (processing_since)
    WHERE status = 'processing' AND NOT deleted;

SELECT aurora_protect('knowledge_documents');

CREATE TABLE knowledge_chunks (
    tenant_id   text    NOT NULL,
    document_id uuid    NOT NULL,
    ordinal     integer NOT NULL,
    heading     text,
    text        text    NOT NULL,
    -- the heading counts for keyword search as much as the text below it
    search      tsvector GENERATED ALWAYS AS
                  (to_tsvector('english', coalesce(heading, '') || ' ' || text)) STORED,
    -- unit vector (all-MiniLM-L6-v2: 384 values) as little-endian f32s; null without a model.
    -- No pgvector on this PostgreSQL: the gateway scores vectors in Rust.
    embedding   bytea,
    PRIMARY KEY (tenant_id, document_id, ordinal)
);
CREATE INDEX knowledge_chunks_search ON knowledge_chunks USING gin (search);

SELECT aurora_protect('knowledge_chunks');
