//! A webhook body, whatever it holds, is read or refused — never a crash:
//! what is read is JSON again, keyed within the limit.
//!
//! Run with `cargo +nightly fuzz run webhook` from this directory.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pacer_config::{Expr, Webhook};
use pacer_connect::{Intake, MAX_KEY_BYTES};

fn intake() -> &'static (Intake, tokio::runtime::Runtime) {
    static INTAKE: OnceLock<(Intake, tokio::runtime::Runtime)> = OnceLock::new();
    INTAKE.get_or_init(|| {
        let webhook = Webhook {
            secret: None,
            max_bytes: 1 << 20,
            key: Expr {
                text: ".id".into(),
                origin: "fuzz".into(),
            },
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        (Intake::new(&webhook).unwrap(), runtime)
    })
}

fuzz_target!(|body: &[u8]| {
    let (intake, runtime) = intake();
    if let Ok((records, rejected)) = runtime.block_on(intake.read(body, None)) {
        for record in &records {
            assert!(record.key.len() <= MAX_KEY_BYTES);
            assert!(pacer_jq::parse(record.payload.as_bytes()).is_ok());
        }
        for record in &rejected {
            assert!(!record.reason.is_empty());
        }
    }
});
