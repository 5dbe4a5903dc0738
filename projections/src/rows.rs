//! How projectors write their rows: as JSON objects named as the table's columns, turned into
//! records by `jsonb_populate_recordset`, in one statement per table and batch. The three ways a
//! row meets one already there (none expected, keep the old one, take the new values) are the
//! three writers here; [`audit_row`] is the row both audit tables keep of an event.

use aurora_domain::DomainEvent;
use esrs::Aggregate;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::fold::{checked_schema, Seen, Tx};

/// Inserts `rows` into `schema.table`, which holds none of them: a projector that deletes a
/// touched aggregate's rows and writes them again whole.
pub async fn insert(
    tx: &mut Tx<'_>,
    schema: &str,
    table: &str,
    rows: Vec<Value>,
) -> Result<(), ProjectionError> {
    populate(tx, schema, table, "", rows).await
}

/// Inserts `rows` into `schema.table`, skipping those whose `key` (its primary key's columns) is
/// there already: the write of rows that are written once and never changed, so a redelivered
/// event is a no-op.
pub async fn insert_new(
    tx: &mut Tx<'_>,
    schema: &str,
    table: &str,
    key: &str,
    rows: Vec<Value>,
) -> Result<(), ProjectionError> {
    let tail = format!("ON CONFLICT ({key}) DO NOTHING");
    populate(tx, schema, table, &tail, rows).await
}

/// Inserts `rows` into `schema.table`; where a row with the same `key` (its primary key's
/// columns) is there already, its `columns` (comma-separated) take the new row's values: the
/// write of a state row, or of an item that follows its updates.
pub async fn upsert(
    tx: &mut Tx<'_>,
    schema: &str,
    table: &str,
    key: &str,
    columns: &str,
    rows: Vec<Value>,
) -> Result<(), ProjectionError> {
    let set = columns
        .split(',')
        .map(|c| format!("{c} = EXCLUDED.{c}", c = c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let tail = format!("ON CONFLICT ({key}) DO UPDATE SET {set}");
    populate(tx, schema, table, &tail, rows).await
}

async fn populate(
    tx: &mut Tx<'_>,
    schema: &str,
    table: &str,
    tail: &str,
    rows: Vec<Value>,
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    let schema = checked_schema(schema);
    sqlx::query(&format!(
        "INSERT INTO {schema}.{table} SELECT * FROM jsonb_populate_recordset(NULL::{schema}.{table}, $1) {tail}"
    ))
    .bind(Value::Array(rows))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The row an audit table (`audit_log`, `connector_audit`) keeps of an event: who acted, what
/// happened described for people, and the event itself.
pub fn audit_row<A>(seen: &Seen<'_, A>, actor: Option<Uuid>, description: String) -> Value
where
    A: Aggregate,
    A::Event: DomainEvent,
{
    json!({
        "tenant_id": seen.key.tenant,
        "stream_sequence": seen.raw.stream_sequence,
        "event_type": seen.event.event_type(),
        "at": seen.event.occurred_at(),
        "actor": actor,
        "description": description,
        "data": seen.raw.data,
    })
}
