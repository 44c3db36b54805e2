//! Outgoing mail: SMTP through lettre, or the console when no SMTP server is configured.
//! Nothing sends directly: messages go through the outbox (`outbox.rs`).

pub mod outbox;
pub mod templates;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// One message as the outbox holds it.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The store's `From`, when it has its own.
    pub sender: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Retrying cannot help (a refused address, a message that cannot be built).
    #[error("permanent: {0}")]
    Permanent(String),
    /// The server is down or busy: try again later.
    #[error("transient: {0}")]
    Transient(String),
}

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    /// Prints each message on stdout: the development default, so magic links are visible.
    Console,
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let Some(url) = &config.smtp_url else {
            return Ok(Mailer::Console);
        };
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| format!("PATRON_MAIL_FROM: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|e| format!("PATRON_SMTP_URL: {e}"))?
            // Shorter than the outbox lease, so no other worker takes over a live send.
            .timeout(Some(Duration::from_secs(20).min(config.mail_lease / 2)))
            .build();
        Ok(Mailer::Smtp {
            transport: Box::new(transport),
            from,
        })
    }

    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        match self {
            Mailer::Console => {
                println!(
                    "\n----- mail {} -----\n{}To: {}\nSubject: {}\n\n{}\n----- end of mail -----\n",
                    mail.id,
                    mail.sender
                        .as_deref()
                        .map(|s| format!("From: {s}\n"))
                        .unwrap_or_default(),
                    mail.recipient,
                    mail.subject,
                    mail.text
                );
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = mail
                    .recipient
                    .parse()
                    .map_err(|e| MailError::Permanent(format!("recipient: {e}")))?;
                // Checked when the store's setting was written; the deployment's sender if it
                // no longer parses.
                let from = mail
                    .sender
                    .as_deref()
                    .and_then(|s| s.parse::<Mailbox>().ok())
                    .unwrap_or_else(|| from.clone());
                let message = Message::builder()
                    .from(from)
                    .to(to)
                    .subject(mail.subject.clone())
                    .message_id(Some(format!("<{}@patron>", mail.id)))
                    .multipart(MultiPart::alternative_plain_html(
                        mail.text.clone(),
                        mail.html.clone(),
                    ))
                    .map_err(|e| MailError::Permanent(format!("message: {e}")))?;
                transport.send(message).await.map(|_| ()).map_err(|e| {
                    if e.is_permanent() {
                        MailError::Permanent(e.to_string())
                    } else {
                        MailError::Transient(e.to_string())
                    }
                })
            }
        }
    }
}
