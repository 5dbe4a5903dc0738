//! The service graph end to end (issue 17): the routes over the read model, declared edges,
//! nodes named by alerts and changes, discovery through fake CLIs, and correlation on the graph.

mod agent;
mod discovery;
mod jobs;
mod labels;
mod observed;
mod routes;
pub(crate) mod seed;
