//! OAuth2 client credentials against a real OAuth2 server: oauth2-mock-server
//! from npm, in `tests/oauth` (`.ci/run` installs its packages), which
//! signs JWTs, beside an API that accepts only a token that server signed
//! and that has not expired (verified with jose).

mod support;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use jiff::Timestamp;
use pacer_connect::{Delivery, Destination};
use support::prices;

/// The OAuth2 server and the API, stopped when dropped.
struct Servers {
    child: Child,
    oauth: String,
    api: String,
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts both, tokens living `ttl` seconds.
fn servers(ttl: u32) -> Servers {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oauth");
    assert!(
        dir.join("node_modules/oauth2-mock-server").is_dir(),
        "the OAuth2 test server needs its packages: run tests/setup (.ci/run does)"
    );
    let mut child = Command::new("node")
        .arg("server.mjs")
        .current_dir(&dir)
        .env("OAUTH_SECRET", "s3cret")
        .env("TOKEN_TTL", ttl.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the OAuth2 test server (.ci/run installs Node.js when missing)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let ["oauth", oauth, "api", api] = words[..] else {
        panic!("the server said {line:?}")
    };
    Servers {
        oauth: oauth.to_string(),
        api: api.to_string(),
        child,
    }
}

impl Servers {
    /// A destination on the API, its client secret `secret`.
    fn destination(&self, secret: &str) -> Destination {
        let yaml = format!(
            "systems:\n  erp: {{ rate: 100/min }}\n  \
             shop:\n    rate: 100/min\n    base_url: \"{}\"\n    \
             auth: {{ oauth2: {{ token_url: \"{}/token\", client_id: pacer, client_secret: \"{secret}\", scope: \"prices:write\" }} }}\n\
             integrations:\n  prices:\n    from: erp\n    to: shop\n    volume: 2400/day\n    \
             push: {{ request: {{ path: \"/prices/{{{{ sku }}}}\" }} }}\n",
            self.api, self.oauth
        );
        let config = pacer_config::parse(&yaml, "oauth.yaml").unwrap();
        Destination::new("prices", &config.connections[1], &config.flows[0].push).unwrap()
    }

    /// Tokens issued, requests accepted, requests refused (401).
    async fn stats(&self) -> (u64, u64, u64) {
        let stats: serde_json::Value = reqwest::get(format!("{}/_stats", self.api))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let n = |k: &str| stats[k].as_u64().unwrap();
        (n("issued"), n("accepted"), n("refused"))
    }

    async fn revoke(&self) {
        client()
            .post(format!("{}/_revoke", self.api))
            .send()
            .await
            .unwrap();
    }
}

/// One token serves many requests; a token revoked before it expires is
/// answered 401, and a new one is asked for and the request sent again at
/// once — delivered, not retried after a backoff.
#[tokio::test]
async fn one_token_serves_until_the_api_refuses_it() {
    let servers = servers(3_600);
    let shop = servers.destination("s3cret");
    let now = Timestamp::now();
    let delivered = shop
        .deliver(&prices(&["SKU-1", "SKU-2", "SKU-3"]), now)
        .await;
    assert_eq!(delivered, vec![Delivery::Delivered; 3]);
    assert_eq!(
        servers.stats().await,
        (1, 3, 0),
        "one token for three requests"
    );

    servers.revoke().await;
    let delivered = shop.deliver(&prices(&["SKU-4"]), now).await;
    assert_eq!(delivered, [Delivery::Delivered]);
    assert_eq!(
        servers.stats().await,
        (2, 4, 1),
        "refused once, a new token, accepted"
    );
}

/// A token that lives two seconds is renewed before it expires: after
/// three seconds the next request carries a new one and is never refused.
#[tokio::test]
async fn a_token_is_renewed_before_it_expires() {
    let servers = servers(2);
    let shop = servers.destination("s3cret");
    let delivered = shop.deliver(&prices(&["SKU-1"]), Timestamp::now()).await;
    assert_eq!(delivered, [Delivery::Delivered]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered = shop.deliver(&prices(&["SKU-2"]), Timestamp::now()).await;
    assert_eq!(delivered, [Delivery::Delivered]);
    assert_eq!(servers.stats().await, (2, 2, 0));
}

/// A wrong client secret: the records wait (a retry, not dead — they are
/// not at fault), the reason names the token URL and its answer, and
/// neither secret shows.
#[tokio::test]
async fn a_wrong_client_secret_holds_the_records_and_says_why() {
    let servers = servers(3_600);
    let shop = servers.destination("not-the-secret");
    let delivered = shop.deliver(&prices(&["SKU-1"]), Timestamp::now()).await;
    let [Delivery::Retry { error, .. }] = delivered.as_slice() else {
        panic!("{delivered:?}")
    };
    assert!(error.contains("no OAuth2 token from"), "{error}");
    assert!(error.contains("invalid_client"), "{error}");
    assert!(
        error.contains("check client_id and client_secret"),
        "{error}"
    );
    assert!(
        !error.contains("not-the-secret") && !error.contains("s3cret"),
        "{error}"
    );
    assert_eq!(servers.stats().await, (0, 0, 0));
}

/// An HTTP client for the test, with the TLS provider Pacer installs.
fn client() -> reqwest::Client {
    pacer_connect::install_tls();
    reqwest::Client::new()
}
