//! What every mailed-token flow shares: the per-address throttle, issuing a token of one
//! purpose (voiding that customer's older ones) and mailing its link, and the aftermath of a
//! password change.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

use super::audit::{self, Event, RequestMeta};
use super::login_guard::{self, GuardKey};
use super::rate_limit::hit_within;
use crate::config::RateLimits;
use crate::db::customers::CustomerRow;
use crate::db::scope::Scope;
use crate::db::{sessions, tokens as q, DbConnection};
use crate::domain::email::{digest, mask};
use crate::domain::store::Store;
use crate::domain::token::{PlainToken, Purpose};
use crate::domain::Email;
use crate::mail::outbox;
use crate::mail::templates::{self, Rendered};

/// Rate-limit buckets name an address only by a hash of it, in its store: the same address
/// in two stores is two customers with two limits.
fn email_bucket(scope: Scope<'_>, window: &str, email: &Email) -> String {
    scope.counter_key(&format!("email:{window}:{}", digest(email.normalized())))
}

/// Counts one mail to `email` and says whether it is still within the per-address limits.
/// Counted for known and unknown addresses alike, so both paths do the same work.
pub fn email_allowed(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    scope: Scope<'_>,
    email: &Email,
    limits: &RateLimits,
) -> diesel::QueryResult<bool> {
    let minute_ok = hit_within(
        conn,
        now,
        &email_bucket(scope, "1m", email),
        Duration::from_secs(60),
        limits.email_per_minute,
    )?;
    let hour_ok = hit_within(
        conn,
        now,
        &email_bucket(scope, "1h", email),
        Duration::from_secs(3600),
        limits.email_per_hour,
    )?;
    Ok(minute_ok && hour_ok)
}

/// Says in the log that a mail was not sent because its address is past the per-address
/// limits, so that an operator asked why a mail never came can tell. The address appears
/// masked, and as the digest its rate-limit buckets are named by (`domain::email::digest` of
/// the normalised address one is asked about finds the line).
pub fn log_throttled(
    to: &str,
    normalized: &str,
    purpose: Purpose,
    customer_id: &str,
    meta: &RequestMeta,
) {
    tracing::info!(
        mail = %purpose.as_str(),
        to = %mask(to),
        address_digest = %digest(normalized),
        %customer_id,
        request_id = %meta.request_id.as_deref().unwrap_or("-"),
        "mail not sent: per-address limit reached (PATRON_RATE_LIMIT_EMAIL_PER_MINUTE, PATRON_RATE_LIMIT_EMAIL_PER_HOUR)"
    );
}

/// A new token of `purpose` for the customer, issued at `now`; older unused ones of that
/// purpose stop working.
pub fn issue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    scope: Scope<'_>,
    customer_id: &str,
    purpose: Purpose,
    ttl: Duration,
) -> diesel::QueryResult<PlainToken> {
    issue_for(conn, now, scope, customer_id, purpose, ttl, None)
}

/// [`issue`], with the new address an email-change token confirms.
pub fn issue_for(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    scope: Scope<'_>,
    customer_id: &str,
    purpose: Purpose,
    ttl: Duration,
    new_email: Option<&str>,
) -> diesel::QueryResult<PlainToken> {
    let token = PlainToken::generate();
    q::void_unused(conn, scope, customer_id, purpose.as_str())?;
    q::insert(
        conn,
        &q::NewToken {
            token_hash: token.hash().as_str(),
            customer_id,
            purpose: purpose.as_str(),
            created_at: now,
            expires_at: now + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::minutes(15)),
            new_email,
            store_id: scope.id(),
        },
    )?;
    Ok(token)
}

/// Issues a token of `purpose` for the customer, queues the mail `write` makes of their first
/// name and the token, and records the token.
#[allow(clippy::too_many_arguments)]
pub fn mail_link(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    store: &Store,
    customer: &CustomerRow,
    purpose: Purpose,
    ttl: Duration,
    meta: &RequestMeta,
    write: impl FnOnce(Option<&str>, &PlainToken) -> Rendered,
) -> diesel::QueryResult<()> {
    let scope = Scope::new(&store.id);
    let token = issue(conn, now, scope, &customer.id, purpose, ttl)?;
    let mail = write(customer.firstname.as_deref(), &token);
    outbox::enqueue_mail(conn, now, store, &customer.email, &mail)?;
    audit::record(
        conn,
        now,
        scope,
        Event::TokenCreated,
        Some(&customer.id),
        meta,
    )
}

/// [`mail_link`] for a known customer, unless their address is past its limits (see
/// [`email_allowed`]): then the throttled request is logged and recorded, and nothing is sent.
/// Says whether a mail was queued.
#[allow(clippy::too_many_arguments)]
pub fn mail_link_unless_throttled(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    store: &Store,
    allowed: bool,
    customer: &CustomerRow,
    purpose: Purpose,
    ttl: Duration,
    meta: &RequestMeta,
    write: impl FnOnce(Option<&str>, &PlainToken) -> Rendered,
) -> diesel::QueryResult<bool> {
    if !allowed {
        log_throttled(
            &customer.email,
            &customer.email_normalized,
            purpose,
            &customer.id,
            meta,
        );
        audit::record(
            conn,
            now,
            Scope::new(&store.id),
            Event::TokenThrottled,
            Some(&customer.id),
            meta,
        )?;
        return Ok(false);
    }
    mail_link(conn, now, store, customer, purpose, ttl, meta, write)?;
    Ok(true)
}

/// After a password was set or changed: every other session ends, every outstanding token of
/// every purpose stops working, the lockout is cleared, and the customer is told by mail.
pub fn after_password_change(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    store: &Store,
    customer: &CustomerRow,
    keep_session: Option<&str>,
    meta: &RequestMeta,
) -> diesel::QueryResult<()> {
    let scope = Scope::new(&store.id);
    match keep_session {
        Some(keep) => sessions::revoke_all_except(conn, scope, &customer.id, keep, now)?,
        None => sessions::revoke_all(conn, scope, &customer.id, now)?,
    };
    q::void_all_unused(conn, scope, &customer.id)?;
    login_guard::forget(
        conn,
        &GuardKey::for_normalized(scope, &customer.email_normalized),
    )?;
    audit::record(
        conn,
        now,
        scope,
        Event::PasswordChange,
        Some(&customer.id),
        meta,
    )?;
    let mail = templates::password_changed(customer.firstname.as_deref());
    outbox::enqueue_mail(conn, now, store, &customer.email, &mail)?;
    Ok(())
}
