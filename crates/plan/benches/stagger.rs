//! Planning time for large environments: 1,000 and 10,000 jobs (goal: 10,000 in under 1 s).
//!
//! `cargo bench -p pacer-plan --bench stagger`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pacer_plan::{ActiveHours, Environment, Integration, JobOptions, Rate, System, plan};

/// The same generator as the tests' (kept here: benches cannot share test modules).
fn generated(seed: u64, jobs: usize) -> Environment {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let systems = (0..20)
        .map(|i| System {
            name: format!("system{i}"),
            rate: Rate::per_minute([20.0, 50.0, 100.0, 250.0, 500.0, 1000.0][next(6) as usize]),
        })
        .collect();
    let integrations = (0..jobs / 2)
        .map(|i| Integration {
            name: format!("integration{i}"),
            from: format!("system{}", next(20)),
            to: format!("system{}", next(20)),
            volume_per_day: [15.0, 200.0, 1_000.0, 5_000.0, 21_000.0, 35_000.0, 80_000.0]
                [next(7) as usize],
            peak_factor: 1.0,
            freshness_minutes: (next(3) == 0).then(|| [15, 30, 60, 240][next(4) as usize]),
            active_hours: if next(4) == 0 {
                ActiveHours::new(6, 22).unwrap()
            } else {
                ActiveHours::ALL_DAY
            },
            pull: JobOptions::default(),
            push: JobOptions::default(),
        })
        .collect();
    Environment {
        name: "bench".into(),
        capacity: 10,
        systems,
        integrations,
    }
}

fn planning(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    for jobs in [1_000, 10_000] {
        let environment = generated(1, jobs);
        let result = plan(&environment).unwrap();
        eprintln!(
            "{jobs} jobs: peak {} against a lower bound of {}",
            result.load.peak, result.load.lower_bound
        );
        group.bench_function(format!("{jobs}_jobs"), |b| {
            b.iter(|| plan(black_box(&environment)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);
