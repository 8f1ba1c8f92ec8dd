//! Building environments for tests: the guide's, and generated ones.

use pacer_plan::{ActiveHours, Environment, Integration, JobOptions, Rate, System};

pub(crate) fn integration(name: &str, from: &str, to: &str, volume_per_day: f64) -> Integration {
    Integration {
        name: name.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        volume_per_day,
        peak_factor: 1.0,
        freshness_minutes: None,
        active_hours: ActiveHours::ALL_DAY,
        pull: JobOptions::default(),
        push: JobOptions::default(),
    }
}

/// The guide's environment: an ERP at 100/min, a webshop at 500/min.
pub(crate) fn guide(capacity: u32) -> Environment {
    Environment {
        name: "acme".to_string(),
        capacity,
        systems: vec![
            System {
                name: "erp".to_string(),
                rate: Rate::per_minute(100.0),
            },
            System {
                name: "webshop".to_string(),
                rate: Rate::per_minute(500.0),
            },
        ],
        integrations: vec![
            integration("new_products", "erp", "webshop", 15.0),
            integration("updated_products", "erp", "webshop", 200.0),
            integration("prices", "erp", "webshop", 35_000.0),
            integration("stock", "erp", "webshop", 21_000.0),
            integration("orders", "webshop", "erp", 180.0),
        ],
    }
}

/// A deterministic pseudo-random environment of `jobs / 2` integrations
/// between `systems` systems with varied rates, volumes and windows.
pub(crate) fn generated(seed: u64, jobs: usize, capacity: u32) -> Environment {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let systems: Vec<System> = (0..20)
        .map(|i| System {
            name: format!("system{i}"),
            rate: Rate::per_minute([20.0, 50.0, 100.0, 250.0, 500.0, 1000.0][next(6) as usize]),
        })
        .collect();
    let integrations = (0..jobs / 2)
        .map(|i| {
            let mut integration = integration(
                &format!("integration{i}"),
                &format!("system{}", next(20)),
                &format!("system{}", next(20)),
                [15.0, 200.0, 1_000.0, 5_000.0, 21_000.0, 35_000.0, 80_000.0][next(7) as usize],
            );
            if next(4) == 0 {
                integration.active_hours = ActiveHours::new(6, 22).unwrap();
            }
            if next(3) == 0 {
                integration.freshness_minutes = Some([15, 30, 60, 240][next(4) as usize]);
            }
            integration
        })
        .collect();
    Environment {
        name: format!("generated-{seed}"),
        capacity,
        systems,
        integrations,
    }
}
