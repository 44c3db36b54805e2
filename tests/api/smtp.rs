//! A real SMTP server for tests: speaks enough SMTP over TCP for lettre, keeps every message,
//! and can be taken down and brought back on the same port.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub raw: String,
}

impl ReceivedMail {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or("");
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines = head.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if line.to_ascii_lowercase().starts_with(&prefix) {
                let mut value = line[prefix.len()..].trim().to_owned();
                while lines
                    .peek()
                    .is_some_and(|l| l.starts_with(' ') || l.starts_with('\t'))
                {
                    value.push(' ');
                    value.push_str(lines.next().unwrap().trim());
                }
                return Some(value);
            }
        }
        None
    }

    /// The decoded parts of the message as (content type, body).
    pub fn parts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        collect_parts(&self.raw, &mut out);
        out
    }

    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    pub fn html(&self) -> String {
        self.part("text/html")
    }

    fn part(&self, kind: &str) -> String {
        self.parts()
            .into_iter()
            .find(|(t, _)| t.starts_with(kind))
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// The first link in the text part that carries a token.
    pub fn link(&self) -> String {
        self.text()
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains("ctk_"))
            .unwrap_or_else(|| panic!("no link in mail:\n{}", self.raw))
            .to_owned()
    }

    /// A token shown on its own in the text part (a code to enter, not a link).
    pub fn code(&self) -> String {
        self.text()
            .split_whitespace()
            .find(|w| w.starts_with("ctk_"))
            .unwrap_or_else(|| panic!("no code in mail:\n{}", self.raw))
            .to_owned()
    }

    pub fn token(&self) -> String {
        let link = self.link();
        let start = link.find("ctk_").unwrap();
        link[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect()
    }
}

fn split_head(entity: &str) -> (&str, &str) {
    entity.split_once("\r\n\r\n").unwrap_or((entity, ""))
}

fn head_value(head: &str, name: &str) -> String {
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
        .map(|l| l[name.len() + 1..].trim().to_owned())
        .unwrap_or_default()
}

fn collect_parts(entity: &str, out: &mut Vec<(String, String)>) {
    let (head, body) = split_head(entity);
    let ctype = head_value(head, "content-type");
    let lower = ctype.to_ascii_lowercase();
    if lower.starts_with("multipart/") {
        let boundary = ctype
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_owned())
            .unwrap_or_default();
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            collect_parts(part.trim_start_matches("\r\n"), out);
        }
        return;
    }
    let encoding = head_value(head, "content-transfer-encoding").to_ascii_lowercase();
    let decoded = match encoding.as_str() {
        "quoted-printable" => decode_qp(body),
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8_lossy(
                &base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default(),
            )
            .into_owned()
        }
        _ => body.to_owned(),
    };
    out.push((lower, decoded));
}

fn decode_qp(s: &str) -> String {
    let bytes = s.replace("=\r\n", "").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            ) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// How long the sink takes to accept each message (a slow mail server).
    delay: Arc<Mutex<Duration>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let sink = SmtpSink {
            port: listener.local_addr().unwrap().port(),
            mails: Default::default(),
            tasks: Default::default(),
            delay: Default::default(),
        };
        sink.serve(listener);
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message from now on takes `per_message` to be accepted.
    pub fn slow_down(&self, per_message: Duration) {
        *self.delay.lock().unwrap() = per_message;
    }

    fn serve(&self, listener: TcpListener) {
        let mails = self.mails.clone();
        let tasks = self.tasks.clone();
        let delay = self.delay.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mails = mails.clone();
                let delay = delay.clone();
                let conn = tokio::spawn(async move {
                    let _ = session(stream, mails, delay).await;
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Takes the server down: connections are cut and new ones refused.
    pub fn stop(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    pub async fn restart(&self) {
        for _ in 0..50 {
            if let Ok(l) = TcpListener::bind(("127.0.0.1", self.port)).await {
                self.serve(l);
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot listen again on {}", self.port);
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits until at least `n` mails reached `address`, or panics after `timeout`.
    pub async fn wait_for(&self, address: &str, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.mails_to(address);
            if got.len() >= n {
                return got;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("expected {n} mail(s) to {address}, got {}", got.len());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The newest mail to `address`, waiting for the first one.
    pub async fn last_to(&self, address: &str) -> ReceivedMail {
        let all = self.wait_for(address, 1, Duration::from_secs(10)).await;
        all.last().cloned().unwrap()
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    delay: Arc<Mutex<Duration>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        if std::env::var("SMTP_TRACE").is_ok() {
            eprintln!("smtp> {cmd}");
        }
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 sink\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&cmd[10..]);
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&cmd[8..]));
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line
                    .strip_prefix('.')
                    .filter(|_| line.starts_with(".."))
                    .unwrap_or(&line);
                data.push_str(unstuffed);
            }
            // Kept as soon as it is in (a real server may deliver a message whose sender
            // gave up waiting for the answer), answered after the delay.
            mails.lock().unwrap().push(ReceivedMail {
                from: from.clone(),
                to: to.clone(),
                raw: data,
            });
            let wait = *delay.lock().unwrap();
            tokio::time::sleep(wait).await;
            write.write_all(b"250 queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            // RSET, NOOP and anything else.
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg.trim_start_matches('<');
    inner.split('>').next().unwrap_or(inner).trim().to_owned()
}
