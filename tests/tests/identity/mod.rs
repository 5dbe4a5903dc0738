//! Identity end to end (SPEC §10): registration, login, sessions and cookies, invitations and
//! roles, API tokens, and the audit log of every admin action and denied access.

mod audit;
mod helpers;
mod invitations;
mod login;
mod registration;
mod roles;
mod tokens;
