//! Integrations and webhook intake end to end: a source posts to its URL, the delivery is made
//! durable on `INBOX`, the ingest handler correlates it into incidents.

mod alerts;
mod cloudwatch_sns;
mod correlation;
mod deliveries;
pub(crate) mod helpers;
mod integrations;
mod redelivery;
