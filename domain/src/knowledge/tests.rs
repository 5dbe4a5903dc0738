//! Given / when / then: a document's life.

use chrono::{TimeZone, Utc};

use super::*;

fn at(second: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a time")
        + chrono::Duration::seconds(second)
}

fn upload() -> KnowledgeCommand {
    KnowledgeCommand::Upload(Upload {
        filename: DocumentName::parse("../../etc/passwd.md").expect("a name"),
        kind: DocumentKind::Markdown,
        size_bytes: 10,
        object_key: "acme/knowledge/1".into(),
        by: "ana".into(),
        at: at(0),
    })
}

fn given(commands: Vec<KnowledgeCommand>) -> KnowledgeDocumentState {
    let mut events = Vec::new();
    for command in commands {
        let state = fold(events.clone());
        events.extend(command::decide(&state, command).expect("accepted"));
    }
    fold(events)
}

#[test]
fn an_upload_is_processed_then_ready_with_its_chunks() {
    let state = given(vec![
        upload(),
        KnowledgeCommand::StartProcessing { at: at(1) },
        KnowledgeCommand::Complete {
            chunks: 3,
            characters: 4000,
            embedding_model: Some("all-MiniLM-L6-v2".into()),
            at: at(2),
        },
    ]);
    assert_eq!(state.status, Some(DocumentStatus::Ready));
    assert_eq!(state.chunks, 3);
    assert_eq!(state.processing_since, Some(at(1)));
    // The name is kept as given: it is only shown.
    assert_eq!(
        state.filename.map(|n| n.as_str().to_owned()).as_deref(),
        Some("../../etc/passwd.md")
    );
}

#[test]
fn processing_fails_with_its_reason_and_a_finished_document_cannot_fail_again() {
    let state = given(vec![
        upload(),
        KnowledgeCommand::StartProcessing { at: at(1) },
        KnowledgeCommand::Fail {
            reason: "stuck in processing".into(),
            at: at(200),
        },
    ]);
    assert_eq!(state.status, Some(DocumentStatus::Failed));
    assert_eq!(state.reason.as_deref(), Some("stuck in processing"));
    assert_eq!(
        command::decide(
            &state,
            KnowledgeCommand::Fail {
                reason: "again".into(),
                at: at(201)
            }
        ),
        Err(KnowledgeError::AlreadyFinished {
            status: DocumentStatus::Failed
        })
    );
}

#[test]
fn commands_out_of_order_are_refused_by_name() {
    let nothing = KnowledgeDocumentState::default();
    assert_eq!(
        command::decide(&nothing, KnowledgeCommand::StartProcessing { at: at(1) }),
        Err(KnowledgeError::NotFound)
    );
    let uploaded = given(vec![upload()]);
    assert_eq!(
        command::decide(&uploaded, upload()),
        Err(KnowledgeError::AlreadyUploaded)
    );
    assert_eq!(
        command::decide(
            &uploaded,
            KnowledgeCommand::Complete {
                chunks: 1,
                characters: 1,
                embedding_model: None,
                at: at(1)
            }
        ),
        Err(KnowledgeError::WrongStatus {
            status: DocumentStatus::Uploading,
            expected: DocumentStatus::Processing
        })
    );
    let deleted = given(vec![
        upload(),
        KnowledgeCommand::Delete {
            by: "ana".into(),
            at: at(3),
        },
    ]);
    assert!(deleted.deleted);
    assert_eq!(
        command::decide(
            &deleted,
            KnowledgeCommand::Delete {
                by: "ana".into(),
                at: at(4)
            }
        ),
        Err(KnowledgeError::Deleted)
    );
}

#[test]
fn file_names_and_kinds() {
    assert_eq!(
        DocumentKind::of_filename("Runbook.MD"),
        Some(DocumentKind::Markdown)
    );
    assert_eq!(
        DocumentKind::of_filename("notes.txt"),
        Some(DocumentKind::Text)
    );
    assert_eq!(DocumentKind::of_filename("a.pdf"), Some(DocumentKind::Pdf));
    assert_eq!(DocumentKind::of_filename("a.exe"), None);
    assert_eq!(DocumentKind::of_filename("README"), None);
    assert!(DocumentName::parse("  ").is_err());
    assert!(DocumentName::parse(&"a".repeat(256)).is_err());
    assert!(DocumentName::parse("a\u{0}b.md").is_err());
    assert_eq!(
        DocumentName::parse(" ..\\x.md ").map(|n| n.as_str().to_owned()),
        Ok("..\\x.md".to_owned())
    );
}

#[test]
fn object_keys_come_from_ids_only() {
    let tenant = crate::TenantId::parse("acme").expect("a tenant");
    let id = uuid::Uuid::nil();
    assert_eq!(
        object_key(&tenant, id),
        "acme/knowledge/00000000-0000-0000-0000-000000000000"
    );
}
