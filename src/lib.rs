//! patron: customer identity and profiles for headless commerce, speaking Chec's
//! `/v1/customers` API. See `docs/architecture.md` for how the pieces fit.

pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod mail;
pub mod secrets;
pub mod service;
pub mod startup;
pub mod telemetry;
