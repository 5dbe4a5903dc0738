-- The knowledge handler's heartbeat while it processes a document: how many of its chunks are
-- embedded, and when it last got further. The sweep fails a document in processing only when
-- neither this nor its start moved for the limit (3 minutes), so a large upload that takes longer
-- but keeps going is not failed. Written by the handler, like knowledge_chunks (not a read model
-- of events); removed when the document's chunks are written or it is deleted.

CREATE TABLE knowledge_progress (
    tenant_id       text        NOT NULL,
    document_id     uuid        NOT NULL,
    chunks_embedded bigint      NOT NULL,
    at              timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, document_id)
);

SELECT aurora_protect('knowledge_progress');

-- The sweep also looks for documents left in uploading.
CREATE INDEX knowledge_documents_uploading ON knowledge_documents (created_at)
    WHERE status = 'uploading' AND NOT deleted;
