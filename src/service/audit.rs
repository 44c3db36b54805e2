//! The audit trail: who did what, from where. Written in the same transaction as the change.

use chrono::NaiveDateTime;

use crate::db::audit::{self as q, AuditRow};
use crate::db::scope::Scope;
use crate::db::DbConnection;
use crate::domain::random;

/// OWASP logging-vocabulary names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    TokenCreated,
    TokenThrottled,
    TokenReuse,
    LoginSuccess,
    LoginFail,
    SessionCreated,
    SessionLogout,
    SessionLogoutAll,
    LoginLock,
    PasswordChange,
    AccountCreated,
    EmailVerified,
    EmailChangeRequested,
    EmailChanged,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::TokenCreated => "authn_token_created",
            Event::TokenThrottled => "authn_token_throttled",
            Event::TokenReuse => "authn_token_reuse",
            Event::LoginSuccess => "authn_login_success",
            Event::LoginFail => "authn_login_fail",
            Event::SessionCreated => "session_created",
            Event::SessionLogout => "session_logout",
            Event::SessionLogoutAll => "session_logout_all",
            Event::LoginLock => "authn_login_lock",
            Event::PasswordChange => "authn_password_change",
            Event::AccountCreated => "user_created",
            Event::EmailVerified => "authn_email_verified",
            Event::EmailChangeRequested => "authn_email_change_requested",
            Event::EmailChanged => "authn_email_changed",
        }
    }
}

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

pub fn record(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    scope: Scope<'_>,
    event: Event,
    customer_id: Option<&str>,
    meta: &RequestMeta,
) -> diesel::QueryResult<()> {
    record_all(conn, at, scope, &[event], customer_id, meta)
}

/// Several events of one request, written together.
pub fn record_all(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    scope: Scope<'_>,
    events: &[Event],
    customer_id: Option<&str>,
    meta: &RequestMeta,
) -> diesel::QueryResult<()> {
    let user_agent: Option<String> = meta
        .user_agent
        .as_ref()
        .map(|ua| ua.chars().take(255).collect());
    let rows: Vec<AuditRow> = events
        .iter()
        .map(|event| AuditRow {
            id: format!("evt_{}", random::alphanumeric(20)),
            at,
            event: event.as_str().to_owned(),
            customer_id: customer_id.map(str::to_owned),
            ip: meta.ip.clone(),
            user_agent: user_agent.clone(),
            request_id: meta.request_id.clone(),
            store_id: scope.id().to_owned(),
        })
        .collect();
    q::insert(conn, &rows)
}
