//! The secret stores against a real OpenBao dev server: the Vault backend, both backends behind
//! one store, `aurora secrets migrate`, where the API writes secrets, and the gateway's answer
//! when Vault is down.

mod cli;
mod http;
mod migrate;
mod vault;
