//! A source's answer, whatever it holds, becomes a page or a failed page
//! with a reason — never a crash: each record read is JSON again and keyed
//! within the limit.
//!
//! Run with `cargo +nightly fuzz run page` from this directory.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pacer_connect::{MAX_KEY_BYTES, PageRequest, Source};

fn source() -> &'static (Source, tokio::runtime::Runtime) {
    static SOURCE: OnceLock<(Source, tokio::runtime::Runtime)> = OnceLock::new();
    SOURCE.get_or_init(|| {
        // The defaults: `.items[]`, `.key`, `.updated_at`, `.next_page_token`.
        let yaml = "systems:\n  erp: { rate: 100/min, base_url: \"http://127.0.0.1:9\" }\n\
                    integrations:\n  prices: { from: erp, to: erp, volume: 100/day }\n";
        let config = pacer_config::parse(yaml, "fuzz.yaml").unwrap();
        let source = Source::new("prices", &config.connections[0], &config.flows[0].pull).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        (source, runtime)
    })
}

fuzz_target!(|body: &[u8]| {
    let (source, runtime) = source();
    let read = source.read(body.to_vec(), &PageRequest::First, 100, None, "fuzz");
    if let Ok(page) = runtime.block_on(read) {
        for record in &page.records {
            assert!(record.key.len() <= MAX_KEY_BYTES);
            assert!(pacer_jq::parse(record.payload.as_bytes()).is_ok());
        }
        assert!(page.records.len() + page.rejected.len() <= 100_000);
    }
});
