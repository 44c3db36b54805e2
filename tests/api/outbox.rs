//! The mail outbox shared by replicas: every message leaves exactly once.

use std::time::Duration;

use patron::config::Secret;
use patron::db::outbox as q;

use crate::helpers::{test_config, Backend, TestApp, TestDb};
use crate::smtp::SmtpSink;

/// Two replicas, one database, a mail server that takes 0.7 s a message and a 6 s lease: a
/// worker that leased a whole batch and sent it one by one outlived its lease, and the other
/// replica sent the end of the batch again. Each message must reach its address once, and be
/// recorded as sent once.
async fn two_replicas_and_a_slow_mail_server_send_each_mail_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    sink.slow_down(Duration::from_millis(700));
    let url = sink.url();
    let adjust = |c: &mut patron::config::Config| {
        c.smtp_url = Some(Secret::new(url.clone()));
        c.mail_lease = Duration::from_secs(6);
    };
    let a = TestApp::spawn_with(backend, adjust).await;
    let mut config = test_config(&a.db);
    adjust(&mut config);
    let b = TestApp::spawn_on(TestDb::borrowed(a.db.url.clone()), config).await;

    // Queued together, as a burst of sign-ups would: the first worker to look finds them all.
    let addresses: Vec<String> = (0..14).map(|i| format!("burst{i}@example.com")).collect();
    let queued = addresses.clone();
    let default_store = a
        .state
        .stores
        .get(&patron::domain::StoreId::default_store())
        .await
        .unwrap();
    let now = a.clock.now();
    a.state
        .db
        .run(move |conn| {
            for to in &queued {
                patron::mail::outbox::enqueue(
                    conn,
                    now,
                    &default_store,
                    to,
                    "Hello",
                    "text",
                    "<p>html</p>",
                )?;
            }
            Ok::<_, patron::db::DbError>(())
        })
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let sent = a
            .state
            .db
            .run(|conn| q::count_with_status(conn, q::SENT).map_err(patron::db::DbError::from))
            .await
            .unwrap();
        if sent == 14 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {sent} of 14 sent"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A worker that lost its lease may still be sending: wait until the sink has been quiet
    // for two messages' time before counting.
    let mut seen = sink.mails().len();
    let mut quiet_since = tokio::time::Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(1500) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now_seen = sink.mails().len();
        if now_seen != seen {
            seen = now_seen;
            quiet_since = tokio::time::Instant::now();
        }
    }
    for to in &addresses {
        assert_eq!(sink.mails_to(to).len(), 1, "{to} got its mail once");
    }
    assert_eq!(sink.mails().len(), 14);
    drop(b);
}

/// A worker whose lease ran out (another claimed the message since) records nothing: only the
/// holder of the current claim does.
async fn only_the_current_lease_holder_records_the_outcome(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clock = app.clock.clone();
    let outcome = app
        .state
        .db
        .run(move |conn| {
            let e = patron::db::DbError::from;
            // Due an hour from now, so that the server's own worker leaves it alone: this test
            // plays the workers, an hour ahead.
            let now = clock.now() + chrono::TimeDelta::hours(1);
            q::insert(
                conn,
                &q::NewMessage {
                    id: "msg_fencefencefencefence".into(),
                    recipient: "fence@example.com".into(),
                    subject: "Hi".into(),
                    body_text: "t".into(),
                    body_html: "h".into(),
                    status: q::QUEUED.into(),
                    attempts: 0,
                    next_attempt_at: now,
                    created_at: now,
                    store_id: patron::domain::StoreId::DEFAULT.into(),
                    sender: None,
                },
            )
            .map_err(e)?;
            let first = q::claim(conn, now, now + chrono::TimeDelta::seconds(1), 1).map_err(e)?;
            // The first lease has run out: another worker claims the message again.
            let later = now + chrono::TimeDelta::seconds(5);
            let second =
                q::claim(conn, later, later + chrono::TimeDelta::seconds(1), 1).map_err(e)?;
            let (first, second) = (&first[0], &second[0]);
            let stale = q::Lease {
                id: &first.id,
                attempts: first.attempts,
            };
            let current = q::Lease {
                id: &second.id,
                attempts: second.attempts,
            };
            let stale_sent = q::mark_sent(conn, stale, later).map_err(e)?;
            let stale_retry = q::mark_retry(conn, stale, later, "x").map_err(e)?;
            let stale_failed = q::mark_failed(conn, stale, "x").map_err(e)?;
            let still_sending = q::count_with_status(conn, q::SENDING).map_err(e)?;
            let current_sent = q::mark_sent(conn, current, later).map_err(e)?;
            let sent = q::count_with_status(conn, q::SENT).map_err(e)?;
            Ok::<_, patron::db::DbError>((
                first.id == second.id,
                (stale_sent, stale_retry, stale_failed),
                still_sending,
                current_sent,
                sent,
            ))
        })
        .await
        .unwrap();
    assert_eq!(outcome, (true, (false, false, false), 1, true, 1));
}

crate::on_both_backends!(
    two_replicas_and_a_slow_mail_server_send_each_mail_once,
    only_the_current_lease_holder_records_the_outcome,
);
