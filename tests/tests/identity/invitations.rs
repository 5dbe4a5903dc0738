//! Members: invitations (single use, revocable, bound to their email), roles and removal.

use aurora_domain::{Incident, IncidentId};
use aurora_nats::{AggregateStore, Context};
use aurora_tests::{Account, TestApp};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};

use super::helpers::{items, send};
use crate::fixtures::open;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_roles_and_removal_work_as_an_admin_expects() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let editor = app
        .invite_and_register(&admin, "Ed@acme.io", "editor")
        .await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    assert_eq!(
        editor.tenant, admin.tenant,
        "the invitee joined the inviting organisation"
    );

    let members = app
        .get_json("/api/members", Some(&viewer))
        .await
        .expect_status(200);
    let roles: Vec<(String, String)> = items(&members)
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap_or("").to_owned(),
                m["role"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("admin@acme.io".to_owned(), "admin".to_owned()),
            ("ed@acme.io".to_owned(), "editor".to_owned()),
            ("vi@acme.io".to_owned(), "viewer".to_owned()),
        ]
    );
    let invitations = app
        .get_json("/api/invitations", Some(&admin))
        .await
        .expect_status(200);
    assert!(
        items(&invitations)
            .iter()
            .all(|i| i["status"] == "accepted"),
        "{invitations}"
    );
    assert!(
        !invitations.to_string().contains("token"),
        "no token hash is shown: {invitations}"
    );

    // An incident of the organisation, for the editor-level action.
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let incident = IncidentId::new();
    store
        .execute(
            &admin.tenant,
            incident.0,
            open(incident, "Disk full", "db", Utc::now()),
            Context::new_root(),
        )
        .await
        .expect("store")
        .expect("opened");
    let comment_path = format!("/api/incidents/{}/comments", incident.0);
    let text = json!({ "text": "looking into it" });

    // Viewer < editor < admin.
    send(
        &app,
        Method::POST,
        &comment_path,
        &viewer,
        Some(text.clone()),
    )
    .await
    .expect_error(403, "forbidden");
    send(
        &app,
        Method::POST,
        &comment_path,
        &editor,
        Some(text.clone()),
    )
    .await
    .expect_status(201);
    send(
        &app,
        Method::POST,
        "/api/invitations",
        &editor,
        Some(json!({ "email": "x@acme.io", "role": "admin" })),
    )
    .await
    .expect_error(403, "forbidden");
    send(&app, Method::GET, "/api/audit-log", &viewer, None)
        .await
        .expect_error(403, "forbidden");

    // The admin promotes the viewer, who may then comment.
    let path = format!("/api/members/{}", viewer.user_id);
    send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({ "role": "editor" })),
    )
    .await
    .expect_status(200);
    send(
        &app,
        Method::POST,
        &comment_path,
        &viewer,
        Some(text.clone()),
    )
    .await
    .expect_status(201);
    send(
        &app,
        Method::PATCH,
        &path,
        &admin,
        Some(json!({ "role": "owner" })),
    )
    .await
    .expect_error(400, "invalid_role");

    // The last admin can neither be demoted nor removed.
    let own = format!("/api/members/{}", admin.user_id);
    send(
        &app,
        Method::PATCH,
        &own,
        &admin,
        Some(json!({ "role": "viewer" })),
    )
    .await
    .expect_error(409, "last_admin");
    send(&app, Method::DELETE, &own, &admin, None)
        .await
        .expect_error(409, "last_admin");

    // A removed member's session stops working at once.
    send(
        &app,
        Method::DELETE,
        &format!("/api/members/{}", editor.user_id),
        &admin,
        None,
    )
    .await
    .expect_status(204);
    app.get_json("/api/auth/me", Some(&editor))
        .await
        .expect_error(401, "invalid_token");
    send(
        &app,
        Method::DELETE,
        &format!("/api/members/{}", editor.user_id),
        &admin,
        None,
    )
    .await
    .expect_error(404, "not_found");

    // Invited back, the editor joins with their existing account; sessions from before the
    // removal stay dead, the new one works.
    let invitation = send(
        &app,
        Method::POST,
        "/api/invitations",
        &admin,
        Some(json!({ "email": "ed@acme.io", "role": "viewer" })),
    )
    .await
    .expect_status(201);
    let wrong = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({ "email": "ed@acme.io", "password": "not their password", "invitation": invitation["token"] }),
        )
        .await;
    wrong.expect_error(409, "email_taken");
    let back = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({ "email": "ed@acme.io", "password": editor.password, "invitation": invitation["token"] }),
        )
        .await
        .expect_status(201);
    assert_eq!(
        back["user"]["id"],
        editor.user_id.to_string(),
        "the same account"
    );
    assert_eq!(back["role"], "viewer");
    app.get_json("/api/auth/me", Some(&editor))
        .await
        .expect_error(401, "invalid_token");
    let rejoined = Account {
        token: back["token"].as_str().expect("token").to_owned(),
        ..editor.clone()
    };
    app.get_json("/api/auth/me", Some(&rejoined))
        .await
        .expect_status(200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_single_use_revocable_and_bound_to_its_email() {
    let app = TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let invite = |email: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            send(
                app,
                Method::POST,
                "/api/invitations",
                admin,
                Some(json!({ "email": email, "role": "viewer" })),
            )
            .await
            .expect_status(201)
        }
    };
    let register = |email: &'static str, token: Value| {
        let app = &app;
        async move {
            app.post_json(
                "/api/auth/register",
                None,
                &json!({ "email": email, "password": "long enough", "invitation": token }),
            )
            .await
        }
    };
    let first = invite("carol@acme.io").await;
    assert!(first["token"]
        .as_str()
        .is_some_and(|t| t.starts_with("aurora_i_")));
    assert!(first["expires_at"].as_str().is_some());

    // Another email cannot use it.
    register("mallory@evil.io", first["token"].clone())
        .await
        .expect_error(422, "email_mismatch");
    // Revoked, it is dead.
    send(
        &app,
        Method::DELETE,
        &format!("/api/invitations/{}", first["id"].as_str().expect("id")),
        &admin,
        None,
    )
    .await
    .expect_status(204);
    register("carol@acme.io", first["token"].clone())
        .await
        .expect_error(400, "invalid_invitation");
    // A new one works once.
    let second = invite("carol@acme.io").await;
    register("carol@acme.io", second["token"].clone())
        .await
        .expect_status(201);
    register("carol2@acme.io", second["token"].clone())
        .await
        .expect_error(400, "invalid_invitation");
    // Inviting an existing member is a conflict.
    send(
        &app,
        Method::POST,
        "/api/invitations",
        &admin,
        Some(json!({ "email": "carol@acme.io", "role": "viewer" })),
    )
    .await
    .expect_error(409, "already_member");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(users, 2, "refused registrations left no account behind");
    app.stop().await;
}
