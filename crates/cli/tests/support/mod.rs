//! What the CLI's tests share: free ports, a running pacer's log, clients.

#![allow(dead_code)]

/// A loopback port nothing listens on now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads `child`'s stderr as it comes (a full pipe would stop Pacer at its
/// next log line); the thread gives the whole log once the child ends.
pub(crate) fn read_log(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let mut stderr = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
        log
    })
}

/// An HTTP client for a test, with the TLS provider Pacer installs.
pub(crate) fn client() -> reqwest::Client {
    pacer_connect::install_tls();
    reqwest::Client::new()
}

/// `pacer run FILE --speed 600 --for DURATION` on a free port, for a test
/// to add its environment to.
pub(crate) fn sped_up(file: &std::path::Path, duration: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pacer"));
    command
        .args([
            "run",
            file.to_str().unwrap(),
            "--speed",
            "600",
            "--for",
            duration,
        ])
        .args(["--listen", "127.0.0.1:0"]);
    command
}
