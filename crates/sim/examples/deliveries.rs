//! The floor under `pacer simulate`'s speed: a simulated day's deliveries
//! alone — every change of the file's push-side integrations sent by the
//! real connector to the real mock system over loopback, in the
//! simulation's layout (the mocks beside the connector on one multi-thread
//! runtime) — with no engine, queue, store or virtual clock.
//!
//! ```sh
//! cargo run --release -p pacer-sim --example deliveries -- examples/acme.yaml
//! ```
//!
//! What the day takes beyond this is the engine's part.

use std::{sync::Arc, time::Instant};

use pacer_config::Connection;
use pacer_connect::{Delivery, Destination, Outgoing};
use pacer_engine::{Clock, ScaledClock};

/// Claimed tasks handed to one delivery call, about what a push claims.
const PAGE: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/acme.yaml".into());
    let config = pacer_config::parse(&std::fs::read_to_string(&file)?, &file)?;
    let start = pacer_sim::DEFAULT_START
        .to_zoned(config.time_zone.clone())?
        .timestamp();
    // A minute of schedule time passes every real microsecond or so: no
    // mock's per-minute rate is reached, so every request is a delivery.
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(start, 6e7));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mocks = pacer_sim::mocks(&config, start, clock.clone(), 1.0, runtime.handle())?;
    runtime.block_on(async {
        let started = Instant::now();
        let mut delivered = 0usize;
        for pacer_config::IntegrationConfig {
            plan: integration,
            flow,
        } in config.integrations()
        {
            let Some((_, mock)) = mocks.iter().find(|(name, _)| *name == integration.to) else {
                continue;
            };
            let connection = Connection {
                system: integration.to.clone(),
                base_url: Some(mock.base_url()),
                database: None,
                requests: None,
                auth: None,
                lookups: Vec::new(),
            };
            let mut flow = flow.clone();
            pacer_sim::against_mock(&mut flow);
            let destination = Destination::new(&integration.name, &connection, &flow.push)?;
            let changes = (integration.volume_per_day * integration.peak_factor).round() as i64;
            let mut id = 0;
            while id < changes {
                let page: Vec<Outgoing> = (id..changes.min(id + PAGE as i64))
                    .map(|i| Outgoing {
                        id: i,
                        payload: format!(
                            r#"{{"key":"{i}","sku":"SKU-{i}","amount":12.5,"currency":"EUR","updated_at":"{start}"}}"#
                        ),
                        batch_key: None,
                    })
                    .collect();
                id += page.len() as i64;
                let outcomes = destination.deliver(&page, clock.now()).await;
                delivered += outcomes
                    .iter()
                    .filter(|o| matches!(o, Delivery::Delivered))
                    .count();
            }
        }
        println!(
            "{delivered} deliveries in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    drop(mocks);
    Ok(())
}
