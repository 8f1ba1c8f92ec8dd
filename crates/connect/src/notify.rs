//! Alerts sent out: a webhook's JSON, Slack's `{"text": …}`, an email
//! through SMTP.
//!
//! Channel URLs are secrets as often as not (a Slack webhook's path is its
//! credential), so a channel is named by its kind and host only, and every
//! error passes through [`redact`](crate::redact).

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use pacer_config::{Channel, Expr};
use serde_json::json;

use crate::{Error, MAX_EXCERPT_BYTES, redact, resolve};

/// How long one channel may take to take an alert.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// Whether an alert starts or repeats (it holds), or ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeStatus {
    /// The condition holds.
    Firing,
    /// The condition no longer holds.
    Resolved,
}

impl NoticeStatus {
    /// `firing` or `resolved`, as the webhook's JSON says it.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStatus::Firing => "firing",
            NoticeStatus::Resolved => "resolved",
        }
    }
}

/// One alert, as every channel is told it.
#[derive(Clone, Debug)]
pub struct Notice<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// Firing or resolved.
    pub status: NoticeStatus,
    /// What holds: `dead_tasks`, `failed_runs`, `backlog`, `at_rate`,
    /// `at_capacity`, `node_lost`.
    pub condition: &'a str,
    /// What it holds for: an integration, job, system, node, or `capacity`.
    pub subject: &'a str,
    /// What a person reads: what holds and what to look at.
    pub message: &'a str,
    /// Since when it holds, RFC 3339 in the environment's time zone.
    pub since: &'a str,
}

impl Notice<'_> {
    /// One line: `[acme] FIRING dead_tasks prices: 2 dead tasks …`.
    pub fn line(&self) -> String {
        format!(
            "[{}] {} {} {}: {}",
            self.environment,
            self.status.as_str().to_uppercase(),
            self.condition,
            self.subject,
            self.message
        )
    }
}

/// Where alerts go, each channel ready to send.
#[derive(Debug)]
pub struct Notifier {
    channels: Vec<Sender>,
    http: reqwest::Client,
}

#[derive(Debug)]
enum Sender {
    Webhook {
        url: String,
        name: String,
    },
    Slack {
        url: String,
        name: String,
    },
    Email {
        // Boxed: a transport is far larger than a URL.
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
        to: Vec<Mailbox>,
        name: String,
    },
}

impl Notifier {
    /// Makes each channel ready: secrets read from the environment, URLs
    /// and addresses checked.
    ///
    /// # Errors
    ///
    /// A secret not set, a URL or an address that does not parse; the
    /// error says where the channel is written.
    pub fn new(channels: &[Channel]) -> Result<Notifier, Error> {
        let senders = channels.iter().map(sender).collect::<Result<Vec<_>, _>>()?;
        crate::install_tls();
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Permanent(format!("no HTTP client for alerts: {e}")))?;
        Ok(Notifier {
            channels: senders,
            http,
        })
    }

    /// Each channel by kind and host (`webhook hooks.example.com`), never
    /// with its path or credentials.
    pub fn channels(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.name().to_string()).collect()
    }

    /// Tells every channel; each channel's outcome, in their order.
    pub async fn send(&self, notice: &Notice<'_>) -> Vec<(String, Result<(), Error>)> {
        let mut outcomes = Vec::with_capacity(self.channels.len());
        for channel in &self.channels {
            let outcome = match channel {
                Sender::Webhook { url, .. } => {
                    let body = json!({
                        "status": notice.status.as_str(),
                        "environment": notice.environment,
                        "condition": notice.condition,
                        "subject": notice.subject,
                        "message": notice.message,
                        "since": notice.since,
                    });
                    self.post(url, &body).await
                }
                Sender::Slack { url, .. } => {
                    let mark = match notice.status {
                        NoticeStatus::Firing => ":rotating_light:",
                        NoticeStatus::Resolved => ":white_check_mark:",
                    };
                    let body = json!({ "text": format!("{mark} {}", notice.line()) });
                    self.post(url, &body).await
                }
                Sender::Email {
                    transport,
                    from,
                    to,
                    ..
                } => email(transport, from, to, notice).await,
            };
            outcomes.push((channel.name().to_string(), outcome));
        }
        outcomes
    }

    async fn post(&self, url: &str, body: &serde_json::Value) -> Result<(), Error> {
        let answer = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| Error::Transient(redact(&e.without_url().to_string()).into_owned()))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let text = answer.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(MAX_EXCERPT_BYTES.min(500)).collect();
        Err(Error::Transient(
            redact(&format!("answered {status}: {excerpt}")).into_owned(),
        ))
    }
}

impl Sender {
    fn name(&self) -> &str {
        match self {
            Sender::Webhook { name, .. }
            | Sender::Slack { name, .. }
            | Sender::Email { name, .. } => name,
        }
    }
}

fn sender(channel: &Channel) -> Result<Sender, Error> {
    Ok(match channel {
        Channel::Webhook(url) => {
            let (url, host) = http_url(url)?;
            Sender::Webhook {
                url,
                name: format!("webhook {host}"),
            }
        }
        Channel::Slack(url) => {
            let (url, host) = http_url(url)?;
            Sender::Slack {
                url,
                name: format!("slack {host}"),
            }
        }
        Channel::Email { server, from, to } => {
            let url = resolve(server)?;
            let invalid = |what: String| Error::Config {
                origin: server.origin.clone(),
                message: what,
            };
            let parsed = url::Url::parse(&url).map_err(|e| invalid(format!("not a URL: {e}")))?;
            let host = parsed.host_str().unwrap_or_default().to_string();
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                .map_err(|e| invalid(redact(&format!("not an SMTP URL: {e}")).into_owned()))?
                .timeout(Some(SEND_TIMEOUT))
                .build()
                .into();
            let mailbox = |address: &String| {
                address
                    .parse::<Mailbox>()
                    .map_err(|e| invalid(format!("{address:?} is not an email address: {e}")))
            };
            Sender::Email {
                transport,
                from: mailbox(from)?,
                to: to.iter().map(mailbox).collect::<Result<_, _>>()?,
                name: format!("email {host}"),
            }
        }
    })
}

/// A webhook's URL with its secrets read, and its host to name it by.
fn http_url(url: &Expr) -> Result<(String, String), Error> {
    let resolved = resolve(url)?;
    let parsed = url::Url::parse(&resolved).map_err(|e| Error::Config {
        origin: url.origin.clone(),
        message: format!("not a URL: {e}"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config {
            origin: url.origin.clone(),
            message: "expected an http:// or https:// URL".into(),
        });
    }
    let host = parsed.host_str().unwrap_or_default().to_string();
    Ok((resolved, host))
}

async fn email(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    to: &[Mailbox],
    notice: &Notice<'_>,
) -> Result<(), Error> {
    let mut message = Message::builder()
        .from(from.clone())
        .subject(format!(
            "[Pacer {}] {}: {} {}",
            notice.environment,
            notice.status.as_str().to_uppercase(),
            notice.condition,
            notice.subject
        ))
        .header(ContentType::TEXT_PLAIN);
    for recipient in to {
        message = message.to(recipient.clone());
    }
    let body = format!(
        "{}\n\nEnvironment: {}\nCondition: {}\nSubject: {}\nStatus: {}\nSince: {}\n",
        notice.message,
        notice.environment,
        notice.condition,
        notice.subject,
        notice.status.as_str(),
        notice.since
    );
    let message = message
        .body(body)
        .map_err(|e| Error::Permanent(format!("the email could not be built: {e}")))?;
    transport
        .send(message)
        .await
        .map(drop)
        .map_err(|e| Error::Transient(redact(&format!("SMTP: {e}")).into_owned()))
}
