//! Alerts to a real SMTP server (aiosmtpd, from Debian's
//! `python3-aiosmtpd`) and to HTTP receivers on loopback.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use pacer_config::{Channel, Expr};
use pacer_connect::{Notice, NoticeStatus, Notifier};
use serde_json::{Value, json};

/// aiosmtpd on a free loopback port, keeping each message in a maildir;
/// stopped when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    async fn start(test: &str) -> SmtpServer {
        let maildir =
            std::env::temp_dir().join(format!("pacer-smtp-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&maildir);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the SMTP test needs Debian's python3-aiosmtpd: apt-get install python3-aiosmtpd (.ci/run does)");
        let server = SmtpServer {
            child,
            port,
            maildir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "aiosmtpd did not listen on {port}: is python3-aiosmtpd installed? (.ci/run installs it)"
        );
    }

    /// The messages it received, as their raw text.
    fn messages(&self) -> Vec<String> {
        let new = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// An HTTP receiver on loopback: `/hook` and `/slack` keep what they are
/// sent; `/broken` answers 500 with the URL it was called at.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let keep = |path: &'static str| {
        move |State(r): State<Received>, Json(body): Json<Value>| async move {
            r.lock().unwrap().push((path.to_string(), body));
            StatusCode::OK
        }
    };
    let app = Router::new()
        .route("/hook", post(keep("/hook")))
        .route("/slack/{secret}", post(keep("/slack")))
        .route(
            "/broken/{secret}",
            post(
                |axum::extract::Path(secret): axum::extract::Path<String>| async move {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("no hook at /broken/{secret}"),
                    )
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, received)
}

fn expr(text: &str, origin: &str) -> Expr {
    Expr {
        text: text.into(),
        origin: format!("alerts.yaml:9:7: {origin}"),
    }
}

fn notice(status: NoticeStatus) -> Notice<'static> {
    Notice {
        environment: "acme",
        status,
        condition: "failed_runs",
        subject: "prices.pull",
        message: "the last 3 executions of prices.pull failed: erp answered 503",
        since: "2026-11-27T08:00:00+01:00",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_a_webhook_slack_and_a_real_smtp_server() {
    let smtp = SmtpServer::start("reach").await;
    let (base, received) = receiver().await;
    // The Slack URL's path is its credential, read from the environment
    // (cargo sets CARGO_PKG_NAME for every test).
    let notifier = Notifier::new(&[
        Channel::Webhook(expr(&format!("{base}/hook"), "alerts.send[0].webhook")),
        Channel::Slack(expr(
            &format!("{base}/slack/${{CARGO_PKG_NAME}}"),
            "alerts.send[1].slack",
        )),
        Channel::Email {
            server: expr(
                &format!("smtp://127.0.0.1:{}", smtp.port),
                "alerts.send[2].email.server",
            ),
            from: "Pacer <pacer@example.com>".into(),
            to: vec!["ops@example.com".into(), "erp-team@example.com".into()],
        },
    ])
    .unwrap();
    assert_eq!(
        notifier.channels(),
        ["webhook 127.0.0.1", "slack 127.0.0.1", "email 127.0.0.1"],
        "channels named by kind and host, never by path"
    );

    let outcomes = notifier.send(&notice(NoticeStatus::Firing)).await;
    for (channel, outcome) in &outcomes {
        assert!(outcome.is_ok(), "{channel}: {outcome:?}");
    }
    let received = received.lock().unwrap().clone();
    assert_eq!(
        received[0],
        (
            "/hook".to_string(),
            json!({
                "status": "firing",
                "environment": "acme",
                "condition": "failed_runs",
                "subject": "prices.pull",
                "message": "the last 3 executions of prices.pull failed: erp answered 503",
                "since": "2026-11-27T08:00:00+01:00",
            })
        )
    );
    assert_eq!(received[1].0, "/slack");
    assert_eq!(
        received[1].1,
        json!({"text": ":rotating_light: [acme] FIRING failed_runs prices.pull: the last 3 executions of prices.pull failed: erp answered 503"})
    );

    let mail = wait_for_mail(&smtp, 1).await;
    let mail = &mail[0];
    assert!(
        mail.contains("Subject: [Pacer acme] FIRING: failed_runs prices.pull"),
        "{mail}"
    );
    assert!(
        mail.contains("To: ops@example.com, erp-team@example.com"),
        "{mail}"
    );
    assert!(mail.contains("From: Pacer <pacer@example.com>"), "{mail}");
    assert!(mail.contains("erp answered 503"), "{mail}");

    // Resolved goes the same ways.
    notifier.send(&notice(NoticeStatus::Resolved)).await;
    let mail = wait_for_mail(&smtp, 2).await;
    assert!(
        mail.iter()
            .any(|m| m.contains("Subject: [Pacer acme] RESOLVED: failed_runs prices.pull")),
        "{mail:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_channel_says_why_without_its_secret() {
    let (base, _) = receiver().await;
    // The receiver answers with the URL's secret path: it is taken out.
    let notifier = Notifier::new(&[
        Channel::Webhook(expr(
            &format!("{base}/broken/${{CARGO_PKG_NAME}}"),
            "alerts.send[0].webhook",
        )),
        // Nothing listens there.
        Channel::Email {
            server: expr("smtp://127.0.0.1:9", "alerts.send[1].email.server"),
            from: "pacer@example.com".into(),
            to: vec!["ops@example.com".into()],
        },
    ])
    .unwrap();
    let outcomes = notifier.send(&notice(NoticeStatus::Firing)).await;
    let errors: Vec<String> = outcomes
        .iter()
        .map(|(channel, outcome)| format!("{channel}: {}", outcome.as_ref().unwrap_err()))
        .collect();
    assert!(
        errors[0].starts_with("webhook 127.0.0.1: answered 500"),
        "{errors:?}"
    );
    assert!(errors[0].contains("no hook at /broken/"), "{errors:?}");
    assert!(!errors[0].contains(env!("CARGO_PKG_NAME")), "{errors:?}");
    assert!(
        errors[1].starts_with("email 127.0.0.1: SMTP:"),
        "{errors:?}"
    );

    // A secret not set, and an address that is none, say where they are written.
    let unset = Notifier::new(&[Channel::Slack(expr(
        "${PACER_TEST_NOT_SET}",
        "alerts.send[0].slack",
    ))])
    .unwrap_err()
    .to_string();
    assert_eq!(
        unset,
        "alerts.yaml:9:7: alerts.send[0].slack: environment variable PACER_TEST_NOT_SET is not set; set it before starting Pacer"
    );
    let address = Notifier::new(&[Channel::Email {
        server: expr("smtp://127.0.0.1:25", "alerts.send[0].email.server"),
        from: "pacer@".into(),
        to: vec!["ops@example.com".into()],
    }])
    .unwrap_err()
    .to_string();
    assert!(
        address.starts_with(
            "alerts.yaml:9:7: alerts.send[0].email.server: \"pacer@\" is not an email address"
        ),
        "{address}"
    );
}

async fn wait_for_mail(smtp: &SmtpServer, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let mail = smtp.messages();
        if mail.len() >= n {
            return mail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{n} messages expected in {}",
        Path::new(&smtp.maildir).display()
    );
}
