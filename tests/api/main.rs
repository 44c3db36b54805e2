//! HTTP-level tests: every scenario runs against the real server on a random port, once on
//! SQLite and once on PostgreSQL (when `PATRON_TEST_DATABASE_URL` is set).

#[path = "../support/database.rs"]
#[allow(dead_code)]
mod database;
mod helpers;

mod accounts;
mod auth;
mod contract;
mod customers;
mod deployment_files;
mod health;
mod hostile_input;
mod key_lookups;
mod listing;
mod login;
mod merchants;
mod migrations;
mod openapi;
mod orders;
mod outbox;
mod pg_async;
mod schema_parity;
mod security;
mod security_links;
mod smtp;
mod store_api;
mod stores;
mod unicode;
