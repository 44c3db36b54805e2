//! A customer moving their account to another address. The change is proven, not taken on
//! trust: a customer's own `PUT` only mails a confirmation to the new address, and nothing
//! about the account changes until it is used (a merchant's secret key still sets the address
//! directly). Until then the address cannot receive the account's mail, log in with a
//! password or collect guest orders placed under it.

use std::time::Duration;

use chrono::NaiveDateTime;

use super::audit::{self, Event, RequestMeta};
use super::tokens;
use crate::config::RateLimits;
use crate::db::customers::{self as customers_q, CustomerChanges, CustomerRow};
use crate::db::scope::Scope;
use crate::db::{tokens as tokens_q, DbConnection};
use crate::domain::email::mask;
use crate::domain::link::LinkTemplate;
use crate::domain::store::Store;
use crate::domain::token::{PlainToken, Purpose};
use crate::domain::Email;
use crate::mail::outbox;
use crate::mail::templates::{self, Confirmation};

/// Why a confirmation did not apply.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// Unknown, used, expired or superseded: one answer for all.
    #[error("invalid token")]
    InvalidToken,
    /// Another account took the address after the change was asked for.
    #[error("email taken")]
    Taken,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Mails the new address a confirmation (or, when it already has an account, a note that
/// nothing changed: the customer asking learns nothing either way). Sends nothing past the
/// new address's mail limits (the caller is not told; the log says so). Says whether a mail was queued.
#[allow(clippy::too_many_arguments)]
pub fn request(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    store: &Store,
    customer: &CustomerRow,
    new_email: &Email,
    link: Option<&LinkTemplate>,
    ttl: Duration,
    limits: &RateLimits,
    meta: &RequestMeta,
) -> diesel::QueryResult<bool> {
    let scope = Scope::new(&store.id);
    audit::record(
        conn,
        now,
        scope,
        Event::EmailChangeRequested,
        Some(&customer.id),
        meta,
    )?;
    if !tokens::email_allowed(conn, now, scope, new_email, limits)? {
        tokens::log_throttled(
            new_email.as_str(),
            new_email.normalized(),
            Purpose::EmailChange,
            &customer.id,
            meta,
        );
        audit::record(
            conn,
            now,
            scope,
            Event::TokenThrottled,
            Some(&customer.id),
            meta,
        )?;
        return Ok(false);
    }
    let mail = if customers_q::find_by_email(conn, scope, new_email.normalized())?.is_some() {
        templates::email_change_taken()
    } else {
        let token = tokens::issue_for(
            conn,
            now,
            scope,
            &customer.id,
            Purpose::EmailChange,
            ttl,
            Some(new_email.as_str()),
        )?;
        audit::record(
            conn,
            now,
            scope,
            Event::TokenCreated,
            Some(&customer.id),
            meta,
        )?;
        let rendered_link = link.map(|l| l.render(token.expose()));
        let confirmation = match &rendered_link {
            Some(l) => Confirmation::Link(l),
            None => Confirmation::Code(token.expose()),
        };
        templates::email_change_confirm(customer.firstname.as_deref(), confirmation, ttl.as_secs())
    };
    outbox::enqueue_mail(conn, now, store, new_email.as_str(), &mail)?;
    Ok(true)
}

/// Uses a confirmation at `now`: the account takes the new address (verified, since the mail
/// reached it), links mailed to the old address stop working, and the old address is told.
pub fn confirm(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    store: &Store,
    token: &PlainToken,
    meta: &RequestMeta,
) -> Result<CustomerRow, ConfirmError> {
    let scope = Scope::new(&store.id);
    let (customer_id, new_email) =
        tokens_q::consume_email_change(conn, scope, token.hash().as_str(), now)?
            .ok_or(ConfirmError::InvalidToken)?;
    let new_email = new_email
        .and_then(|raw| Email::parse(&raw).ok())
        .ok_or(ConfirmError::InvalidToken)?;
    let old = customers_q::find(conn, scope, &customer_id)?.ok_or(ConfirmError::InvalidToken)?;
    customers_q::update(
        conn,
        scope,
        &old.id,
        &CustomerChanges {
            email: Some(new_email.as_str().to_owned()),
            email_normalized: Some(new_email.normalized().to_owned()),
            email_verified_at: Some(Some(now)),
            updated_at: Some(now.max(old.created_at)),
            ..Default::default()
        },
    )
    .map_err(|e| match e {
        // The address has an account by now (an order or a registration since the request):
        // the unique index says so, also for one created at this very moment.
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => ConfirmError::Taken,
        other => ConfirmError::Db(other),
    })?;
    tokens_q::void_all_unused(conn, scope, &old.id)?;
    audit::record(conn, now, scope, Event::EmailChanged, Some(&old.id), meta)?;
    let notice = templates::email_changed(old.firstname.as_deref(), &mask(new_email.as_str()));
    outbox::enqueue_mail(conn, now, store, &old.email, &notice)?;
    customers_q::find(conn, scope, &old.id)?.ok_or(ConfirmError::InvalidToken)
}
