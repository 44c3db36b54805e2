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
                    "\n----- mail {} -----\nTo: {}\nSubject: {}\n\n{}\n----- end of mail -----\n",
                    mail.id, mail.recipient, mail.subject, mail.text
                );
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = mail
                    .recipient
                    .parse()
                    .map_err(|e| MailError::Permanent(format!("recipient: {e}")))?;
                let message = Message::builder()
                    .from(from.clone())
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
