//! `pacer mock erp|webshop [--listen ADDR] [--volume V] [--rate R]`

use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use pacer_mock::{Feed, MockSystem};

use crate::{
    args::{MockArgs, MockKind},
    input::InvalidInput,
    runtime,
};

/// The guide's systems: what each produces, and how fast it serves.
fn defaults(
    kind: MockKind,
) -> (
    &'static str,
    &'static str,
    u32,
    &'static [(&'static str, f64)],
) {
    match kind {
        MockKind::Erp => (
            "erp",
            "127.0.0.1:9101",
            100,
            &[
                ("new_products", 15.0),
                ("updated_products", 200.0),
                ("prices", 35_000.0),
                ("stock", 21_000.0),
            ],
        ),
        MockKind::Webshop => ("webshop", "127.0.0.1:9102", 500, &[("orders", 180.0)]),
    }
}

pub(crate) fn run(args: &MockArgs) -> anyhow::Result<ExitCode> {
    let (name, listen, rate, feeds) = defaults(args.system);
    let listen = args.listen.as_deref().unwrap_or(listen).to_string();
    let rate = match &args.rate {
        Some(text) => pacer_config::parse_rate(text)
            .map(|r| (r.items_per_minute().floor() as u32).max(1))
            .map_err(|expected| {
                InvalidInput(format!("error: --rate {text:?}: expected {expected}"))
            })?,
        None => rate,
    };
    let volume = match &args.volume {
        Some(text) => Some(pacer_config::parse_volume(text).map_err(|expected| {
            InvalidInput(format!("error: --volume {text:?}: expected {expected}"))
        })?),
        None => None,
    };
    let feeds: Vec<Feed> = feeds
        .iter()
        .map(|&(entity, default)| Feed {
            entity: entity.into(),
            volume_per_day: volume.unwrap_or(default),
            total: None,
            profile: None,
        })
        .collect();
    runtime::block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let system = MockSystem {
            name: name.into(),
            rate_per_minute: Some(rate),
            feeds: feeds.clone(),
            start: jiff::Timestamp::now(),
            now: Arc::new(jiff::Timestamp::now),
        };
        let running = pacer_mock::serve(system, listener)?;
        let produces: Vec<String> = feeds
            .iter()
            .map(|f| format!("{} {}/day", f.entity, f.volume_per_day))
            .collect();
        eprintln!(
            "mock {name} on {} (rate {rate}/min; produces {}); stats at {}/_stats; Ctrl-C stops it",
            running.base_url(),
            produces.join(", "),
            running.base_url()
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        Ok(ExitCode::SUCCESS)
    })
}
