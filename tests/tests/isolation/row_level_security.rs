//! Postgres row-level security: other tenants' rows stay hidden even from a query without a tenant
//! filter, and the gateway runs every statement as the restricted role.

use aurora_tests::TestApp;
use sqlx::Row;

use super::helpers::two_tenants;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_security_hides_other_tenants_even_from_a_query_without_a_tenant_filter() {
    let app = TestApp::spawn().await;
    let (a, b) = two_tenants(&app).await;
    let pool = &app.db.pool;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    assert!(tables.len() >= 11, "{tables:?}");
    for table in &tables {
        // As the owner (what projectors use) both tenants are there...
        let all: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT tenant_id FROM {table}"))
                .fetch_all(pool)
                .await
                .expect("owner read");
        // ...through the application's scoped transaction, deliberately without a filter, only A
        // (the writing one, so that a refused write below is the role's doing).
        let mut tx = aurora_projections::queries::scoped_write(pool, a.tenant.as_str())
            .await
            .expect("scoped");
        let seen: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT tenant_id FROM {table}"))
                .fetch_all(&mut *tx)
                .await
                .expect("scoped read");
        assert!(
            seen.iter().all(|t| t == a.tenant.as_str()),
            "{table}: A sees {seen:?}"
        );
        if all.contains(&b.admin.tenant.to_string()) {
            assert!(!seen.contains(&b.admin.tenant.to_string()), "{table}");
        }
        // The application role only reads.
        let write = sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await;
        assert!(write.is_err(), "{table}: the app role must not write");
        drop(tx);
    }
    // Both tenants' incidents exist; A's scoped view counts only its own.
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(total, 2);
    let mut tx = aurora_projections::queries::scoped(pool, a.tenant.as_str())
        .await
        .expect("scoped");
    let row = sqlx::query("SELECT count(*) AS n, current_user::text AS who FROM incidents")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(row.get::<i64, _>("n"), 1);
    assert_eq!(row.get::<String, _>("who"), "aurora_app");
    drop(tx);
    // A transaction that sets no tenant at all sees nothing.
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("SET LOCAL ROLE aurora_app")
        .execute(&mut *tx)
        .await
        .expect("role");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(n, 0);
    drop(tx);
    // And the role does not outlive its transaction on the pooled connection.
    let who: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(pool)
        .await
        .expect("who");
    assert_ne!(who, "aurora_app");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_runs_every_statement_as_the_restricted_role() {
    let app = TestApp::spawn().await;
    let (a, _b) = two_tenants(&app).await;
    let services = app.services();
    let pool = &services.gateway_pool;
    let (who, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await
    .expect("role");
    assert_eq!(
        (who.as_str(), superuser, bypass),
        ("aurora_app", false, false)
    );
    // Outside a scoped transaction it sees no tenant's rows at all...
    for table in [
        "incidents",
        "org_members",
        "api_tokens",
        "auth_sessions",
        "audit_log",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table}");
    }
    // ...no password hash, and no table it could write behind the projectors' backs.
    assert!(sqlx::query("SELECT password_hash FROM users")
        .fetch_all(pool)
        .await
        .is_err());
    assert!(sqlx::query("UPDATE org_members SET role = 'admin'")
        .execute(pool)
        .await
        .is_err());
    // The definer functions answer only for the secret they are given.
    let owner = aurora_projections::queries::identity::session_owner(pool, "no such hash")
        .await
        .expect("lookup");
    assert!(owner.is_none());
    let memberships = aurora_projections::queries::identity::memberships(pool, a.user_id)
        .await
        .expect("memberships");
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0].tenant_id, a.tenant.as_str());
    app.stop().await;
}
