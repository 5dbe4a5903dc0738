//! Tenant isolation: tenant A tries to reach tenant B's data through every endpoint, with B's
//! ids copied and with ids guessed, and gets nothing; and Postgres row-level security holds even
//! for a query that forgets its tenant filter.
//!
//! `table.rs` holds the one table of every route. A test checks it against `/openapi.json`, so
//! a new endpoint fails the suite until it is added there with what A must get.

mod endpoints;
mod helpers;
mod row_level_security;
mod table;
