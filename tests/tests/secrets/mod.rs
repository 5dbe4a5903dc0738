//! The secret stores against a real OpenBao dev server: the Vault backend, both backends behind
//! one store, and the gateway's answer when Vault is down.

mod http;
mod migrate;
mod vault;
