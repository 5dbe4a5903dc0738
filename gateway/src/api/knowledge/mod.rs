//! The knowledge base over REST (SPEC §9): upload a Markdown, text or PDF file (multipart),
//! list, read (with chunks), delete, and search. Uploads are recorded on the
//! `KnowledgeDocument` aggregate and stored in object storage in the request; the handlers'
//! `knowledge` consumer extracts, chunks and embeds them, and removes deleted ones.

mod views;

use aurora_domain::knowledge::{
    object_key, DocumentKind, DocumentName, KnowledgeCommand, KnowledgeError, MAX_DOCUMENT_BYTES,
};
use aurora_domain::organization::Role;
use aurora_handlers::knowledge::SearchMode;
use aurora_nats::envelope::Context;
use aurora_projections::queries;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use object_store::path::Path as ObjectPath;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use views::{Deleted, DocumentDetail, DocumentList, SearchRequest, SearchResults, Usage};

use super::auth::Caller;
use super::{parse_uuid, ApiError, AppState, Body};
use aurora_domain::knowledge::Upload;
use aurora_projections::queries::KnowledgeDocumentRow;

/// Room for the multipart framing around a file of the largest size.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
const MAX_QUERY_CHARS: usize = 1000;
const MAX_LIMIT: u32 = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload, list))
        .layer(DefaultBodyLimit::max(
            MAX_DOCUMENT_BYTES as usize + MULTIPART_OVERHEAD,
        ))
        .routes(routes!(detail, delete))
        .routes(routes!(search))
}

/// A size as the limits' messages give it: in GiB or MiB when it is a whole number of them,
/// else in bytes.
fn shown_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;
    match bytes {
        0 => "0 bytes".to_owned(),
        b if b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b => format!("{b} bytes"),
    }
}

/// Upload a runbook or note (editor): multipart with one part `file` (`.md`, `.markdown`,
/// `.txt`, `.text`, `.log` or `.pdf`, at most 50 MiB). Answered once stored; its text is
/// extracted, chunked and embedded in the background (status `processing`, then `ready` or
/// `failed`).
#[utoipa::path(post, path = "/api/knowledge-base/documents", tag = "knowledge",
    request_body(content_type = "multipart/form-data", description = "one part named `file`, with a file name"),
    responses((status = 202, body = KnowledgeDocumentRow, description = "stored; being processed"),
              (status = 400, description = "not multipart, or no `file` part with a file name"),
              (status = 403, description = "viewers cannot upload"),
              (status = 409, description = "the organisation keeps the most documents it may (100 by default; `too_many_documents`), or this file would pass its storage limit (1 GiB by default; `storage_full`); the message names the limit"),
              (status = 413, description = "the file is larger than 50 MiB"),
              (status = 415, description = "not a Markdown, text or PDF file"),
              (status = 422, description = "the file name is empty, too long or holds control characters"),
              (status = 503, description = "the event store, the database or object storage is unavailable, or the upload could not be counted in time; retry after Retry-After")))]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<KnowledgeDocumentRow>), ApiError> {
    caller
        .require(&state, Role::Editor, "uploading a knowledge-base document")
        .await?;
    let mut multipart =
        multipart.map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?;
    let (filename, bytes) = file_part(&mut multipart).await?;
    let kind = DocumentKind::of_filename(&filename).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "{filename:?} is not a Markdown, text or PDF file (.md, .markdown, .txt, .text, .log, .pdf)"
        ))
    })?;
    let name = DocumentName::parse(&filename)
        .map_err(|e| ApiError::unprocessable("invalid_filename", e.to_string()))?;
    let tenant = caller.tenant.as_str();
    let size = bytes.len() as u64;
    let id = Uuid::now_v7();
    let key = object_key(&caller.tenant, id);
    let kb = &state.knowledge;
    let limits = kb.config.limits;
    // The limits are checked and the document recorded under the tenant's upload lock, held until
    // the read model the next check reads counts this document: two uploads at once cannot both
    // pass on the same count, in one process or several.
    let mut tx = queries::scoped_write(&state.services.gateway_pool, tenant).await?;
    let (documents, used) = queries::knowledge_usage_locked(&mut tx, tenant).await?;
    if documents as u64 >= limits.documents {
        return Err(ApiError::conflict(
            "too_many_documents",
            format!(
                "the organisation keeps {documents} documents, the most it may ({}): delete one first",
                limits.documents
            ),
        ));
    }
    if used as u64 + size > limits.bytes {
        return Err(ApiError::conflict(
            "storage_full",
            format!(
                "the organisation's documents take {}; this file ({}) would pass the limit of {}",
                shown_size(used as u64),
                shown_size(size),
                shown_size(limits.bytes)
            ),
        ));
    }
    let upload = KnowledgeCommand::Upload(Upload {
        filename: name,
        kind,
        size_bytes: size,
        object_key: key.clone(),
        by: caller.email.clone(),
        at: Utc::now(),
    });
    let recorded = kb
        .documents
        .execute(&caller.tenant, id, upload, Context::new_root())
        .await?
        .map_err(refusal)?;
    let counted = queries::wait_for_checkpoint(
        &state.services.pool,
        "knowledge",
        recorded.stream_sequence,
        std::time::Duration::from_secs(10),
    )
    .await?;
    tx.commit().await?;
    if !counted {
        return Err(given_up(
            kb,
            &caller,
            id,
            "the upload could not be counted against the limits in time",
            "the knowledge base is catching up; upload the file again",
        )
        .await);
    }
    if let Err(e) = kb.objects.put(&ObjectPath::from(key), bytes.into()).await {
        tracing::error!(error = %e, document = %id, "a knowledge-base file was not stored");
        return Err(given_up(
            kb,
            &caller,
            id,
            "the file could not be stored",
            "object storage is unavailable; upload the file again",
        )
        .await);
    }
    let executed = kb
        .documents
        .execute(
            &caller.tenant,
            id,
            KnowledgeCommand::StartProcessing { at: Utc::now() },
            Context::new_root(),
        )
        .await?
        .map_err(refusal)?;
    queries::wait_for_checkpoint(
        &state.services.pool,
        "knowledge",
        executed.stream_sequence,
        std::time::Duration::from_secs(10),
    )
    .await?;
    let row = read(&state, &caller, id).await?;
    Ok((StatusCode::ACCEPTED, Json(row)))
}

/// Fails the document being uploaded with `reason`, and answers 503 saying `then` (the caller
/// uploads again), or the error that kept it from failing.
async fn given_up(
    kb: &aurora_handlers::knowledge::KnowledgeBase,
    caller: &Caller,
    id: Uuid,
    reason: &str,
    then: &str,
) -> ApiError {
    let fail = KnowledgeCommand::Fail {
        reason: reason.to_owned(),
        at: Utc::now(),
    };
    match kb
        .documents
        .execute(&caller.tenant, id, fail, Context::new_root())
        .await
    {
        Err(e) => e.into(),
        Ok(Err(refused)) => refusal(refused),
        Ok(Ok(_)) => ApiError::Unavailable {
            message: then.to_owned(),
            retry_after: 5,
        },
    }
}

/// The `file` part's name and bytes, refusing more than [`MAX_DOCUMENT_BYTES`] as it streams.
async fn file_part(multipart: &mut Multipart) -> Result<(String, Vec<u8>), ApiError> {
    let too_large = || ApiError::PayloadTooLarge {
        limit: MAX_DOCUMENT_BYTES as usize,
    };
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request("invalid_multipart", e.body_text())
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().map(str::to_owned).ok_or_else(|| {
            ApiError::bad_request("missing_filename", "the `file` part has no file name")
        })?;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(broken)? {
            if (bytes.len() + chunk.len()) as u64 > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((filename, bytes));
    }
    Err(ApiError::bad_request(
        "missing_file",
        "no part named `file` in the multipart body",
    ))
}

fn refusal(e: KnowledgeError) -> ApiError {
    match e {
        KnowledgeError::NotFound | KnowledgeError::Deleted => {
            ApiError::NotFound("no such document".to_owned())
        }
        other => ApiError::conflict("document_state", other.to_string()),
    }
}

async fn read(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<KnowledgeDocumentRow, ApiError> {
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let row = queries::knowledge_document(&mut tx, tenant, id).await?;
    tx.commit().await?;
    row.ok_or_else(|| ApiError::NotFound(format!("no document {id} in the caller's organisation")))
}

/// The organisation's documents, newest first, and what they take of its limits.
#[utoipa::path(get, path = "/api/knowledge-base/documents", tag = "knowledge",
    responses((status = 200, body = DocumentList, description = "the documents")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<DocumentList>, ApiError> {
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let documents = queries::knowledge_documents(&mut tx, tenant).await?;
    let (count, bytes) = queries::knowledge_usage(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(Json(DocumentList {
        documents,
        usage: Usage {
            documents: count,
            bytes,
            max_documents: state.knowledge.config.limits.documents,
            max_bytes: state.knowledge.config.limits.bytes,
            max_document_bytes: MAX_DOCUMENT_BYTES,
        },
    }))
}

/// One document: its status (and why it failed) and its chunks.
#[utoipa::path(get, path = "/api/knowledge-base/documents/{id}", tag = "knowledge",
    params(("id" = Uuid, Path, description = "the document")),
    responses((status = 200, body = DocumentDetail, description = "the document and its chunks"),
              (status = 400, description = "the id is not a UUID"),
              (status = 404, description = "no such document in the caller's organisation")))]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DocumentDetail>, ApiError> {
    let id = parse_uuid(&id, "document")?;
    let document = read(&state, &caller, id).await?;
    let tenant = caller.tenant.as_str();
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant).await?;
    let chunk_list = queries::knowledge_chunks(&mut tx, tenant, id).await?;
    tx.commit().await?;
    Ok(Json(DocumentDetail {
        document,
        chunk_list,
    }))
}

/// Delete a document (editor): gone from the list at once; its file and chunks are removed in
/// the background.
#[utoipa::path(delete, path = "/api/knowledge-base/documents/{id}", tag = "knowledge",
    params(("id" = Uuid, Path, description = "the document")),
    responses((status = 202, body = Deleted, description = "deleted"),
              (status = 400, description = "the id is not a UUID"),
              (status = 403, description = "viewers cannot delete documents"),
              (status = 404, description = "no such document in the caller's organisation"),
              (status = 503, description = "the event store is unavailable; retry after Retry-After")))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Deleted>), ApiError> {
    caller
        .require(&state, Role::Editor, "deleting a knowledge-base document")
        .await?;
    let id = parse_uuid(&id, "document")?;
    let command = KnowledgeCommand::Delete {
        by: caller.email.clone(),
        at: Utc::now(),
    };
    let executed = state
        .knowledge
        .documents
        .execute(&caller.tenant, id, command, Context::new_root())
        .await?
        .map_err(|e| match e {
            KnowledgeError::NotFound | KnowledgeError::Deleted => {
                ApiError::NotFound(format!("no document {id} in the caller's organisation"))
            }
            other => refusal(other),
        })?;
    queries::wait_for_checkpoint(
        &state.services.pool,
        "knowledge",
        executed.stream_sequence,
        std::time::Duration::from_secs(10),
    )
    .await?;
    // This process's searches see the deletion now, not a NATS hop later.
    state.knowledge.forget_vectors(&caller.tenant);
    Ok((StatusCode::ACCEPTED, Json(Deleted { id, deleted: true })))
}

/// Search the organisation's ready documents: Postgres full-text rank blended with the cosine
/// of embeddings (alpha 0.5 by default, `AURORA_KB_ALPHA`); keyword only without a model.
#[utoipa::path(post, path = "/api/knowledge-base/search", tag = "knowledge", request_body = SearchRequest,
    responses((status = 200, body = SearchResults, description = "the best chunks, best first"),
              (status = 422, description = "the query is empty or longer than 1000 characters, or the limit is not 1 to 20")))]
async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Body(req): Body<SearchRequest>,
) -> Result<Json<SearchResults>, ApiError> {
    let query = req.query.trim();
    if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::unprocessable(
            "invalid_query",
            "`query` must hold 1 to 1000 characters",
        ));
    }
    let limit = req.limit.unwrap_or(5);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_limit",
            format!("`limit` must be 1 to {MAX_LIMIT}, not {limit}"),
        ));
    }
    let mut mode = req.mode.unwrap_or(SearchMode::Hybrid);
    if state.knowledge.embedder.is_none() {
        mode = SearchMode::Keyword;
    }
    let found = state
        .knowledge
        .search(
            &state.services.gateway_pool,
            &caller.tenant,
            query,
            limit as usize,
            mode,
        )
        .await
        .map_err(|e| anyhow::Error::new(e).context("knowledge-base search failed"))?;
    Ok(Json(SearchResults {
        hits: found.hits,
        ranked_by: match found.ranked_by {
            SearchMode::Hybrid => "hybrid",
            SearchMode::Keyword => "keyword",
            SearchMode::Vector => "vector",
        },
    }))
}
