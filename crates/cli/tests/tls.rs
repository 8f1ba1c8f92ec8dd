//! HTTPS to a real TLS server (OpenSSL's `s_server`, Debian's openssl):
//! Pacer's clients speak TLS through rustls with ring, and check the
//! server's certificate against the roots they are given.

mod support;

use std::{
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

/// `openssl s_server` on a free port with a certificate for localhost;
/// stopped when dropped.
struct TlsServer {
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the TLS test needs openssl: apt-get install openssl (.ci/run does)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate for localhost in `dir`: `cert.pem`, `key.pem`.
fn self_signed(dir: &Path) {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            // A server's own certificate, not a CA's: webpki refuses a CA
            // certificate in a server's place.
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ],
        dir,
    );
}

fn tls_server(dir: &Path) -> TlsServer {
    self_signed(dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // -www: every request gets an HTML page about the TLS session.
    let child = Command::new("openssl")
        .args([
            "s_server", "-quiet", "-www", "-cert", "cert.pem", "-key", "key.pem",
        ])
        .args(["-accept", &port.to_string()])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server runs");
    let server = TlsServer { child, port };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "s_server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// Two minutes of pulls from the server, trusting `roots`.
fn run(dir: &Path, file: &Path, roots: &str) -> Output {
    support::sped_up(file, "2m")
        .env("SSL_CERT_FILE", roots)
        .env_remove("SSL_CERT_DIR")
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn a_pull_over_https_speaks_tls_and_checks_the_certificate() {
    let dir = std::env::temp_dir().join(format!("pacer-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let server = tls_server(&dir);
    let file = dir.join("tls.yaml");
    std::fs::write(
        &file,
        format!(
            "systems:\n  erp: {{ rate: 100/min, base_url: \"https://localhost:{}\" }}\n  \
             shop: {{ rate: 100/min, base_url: \"http://127.0.0.1:9\" }}\n\
             integrations:\n  prices: {{ from: erp, to: shop, volume: 100/day, pull: {{ schedule: \"* * * * *\" }} }}\n",
            server.port
        ),
    )
    .unwrap();

    // Its certificate trusted: the handshake succeeds, and the pull fails
    // only on what s_server answers, an HTML page instead of JSON.
    let trusted = run(&dir, &file, dir.join("cert.pem").to_str().unwrap());
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let log = String::from_utf8_lossy(&trusted.stderr);
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("outcome=\"failed\""))
        .collect();
    assert!(!failed.is_empty(), "{log}");
    for line in &failed {
        assert!(!line.to_lowercase().contains("certificate"), "{line}");
        assert!(
            line.contains("JSON") || line.contains("json"),
            "read, not refused: {line}"
        );
    }

    // Another certificate trusted, not the server's: refused, and the log
    // says why.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    self_signed(&other);
    let untrusted = run(&dir, &file, other.join("cert.pem").to_str().unwrap());
    assert!(
        untrusted.status.success(),
        "{}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
    let log = String::from_utf8_lossy(&untrusted.stderr);
    assert!(
        log.lines()
            .any(|l| l.contains("outcome=\"failed\"") && l.to_lowercase().contains("certificate")),
        "{log}"
    );

    // No roots at all: Pacer cannot start its clients, and says what TLS needs.
    let rootless = run(&dir, &file, "/dev/null");
    assert_eq!(
        rootless.status.code(),
        Some(2),
        "refused at start, as any client that cannot be built"
    );
    let said = String::from_utf8_lossy(&rootless.stderr);
    assert!(
        said.contains("No CA certificates were loaded from the system")
            && said.contains("SSL_CERT_FILE / SSL_CERT_DIR"),
        "{said}"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
