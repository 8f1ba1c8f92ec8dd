//! Next-fire throughput of pacer-cron against croner, on the same mixed set of
//! expressions and zones, in one run.
//!
//! `cargo bench -p pacer-cron --bench next_fire`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use croner::{Cron, parser::CronParser};
use jiff::{Timestamp, Zoned, tz::TimeZone};
use pacer_cron::Schedule;

/// Minute steps, fixed times, weekday ranges, Quartz days and a yearly job:
/// the mix a real environment's schedules have. Every expression means the
/// same to both libraries (no `*/n` day field, where they differ on purpose).
const EXPRESSIONS: [&str; 14] = [
    "* * * * *",
    "*/4 * * * *",
    "1-59/3 * * * *",
    "*/20 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "0 9-17 * * 1-5",
    "15,45 */2 * * *",
    "0 0 1,15 * *",
    "0 18 * * 5L",
    "0 0 * * FRI#2",
    "0 0 L * *",
    "0 12 15W * *",
    "0 0 1 1 *",
];

const ZONES: [&str; 3] = ["UTC", "Europe/Amsterdam", "America/New_York"];

/// Successive fires taken from each start.
const FIRES: usize = 50;

struct Case {
    ours: Schedule,
    theirs: Cron,
    start: Zoned,
}

fn cases() -> Vec<Case> {
    // Starts spread over a year, so some searches cross DST transitions.
    let starts = [
        "2026-01-15T08:07:00Z",
        "2026-03-28T23:59:30Z",
        "2026-10-24T12:00:00Z",
    ];
    let mut cases = Vec::new();
    for zone in ZONES {
        let tz = TimeZone::get(zone).unwrap();
        for (i, expr) in EXPRESSIONS.iter().enumerate() {
            let start: Timestamp = starts[i % starts.len()].parse().unwrap();
            cases.push(Case {
                ours: Schedule::parse(expr).unwrap(),
                theirs: CronParser::new().parse(expr).unwrap(),
                start: start.to_zoned(tz.clone()),
            });
        }
    }
    cases
}

fn pacer_fires(case: &Case) -> Vec<Zoned> {
    let mut fires = Vec::with_capacity(FIRES);
    let mut at = case.start.timestamp();
    let zone = case.start.time_zone();
    for _ in 0..FIRES {
        let next = case.ours.next_after(at, zone).unwrap();
        at = next.timestamp();
        fires.push(next);
    }
    fires
}

fn croner_fires(case: &Case) -> Vec<Zoned> {
    let mut fires = Vec::with_capacity(FIRES);
    let mut at = case.start.clone();
    for _ in 0..FIRES {
        let next = case.theirs.find_next_occurrence(&at, false).unwrap();
        at = next.clone();
        fires.push(next);
    }
    fires
}

fn next_fire(c: &mut Criterion) {
    let cases = cases();
    // The race is only fair if both compute the same answers.
    for case in &cases {
        assert_eq!(pacer_fires(case), croner_fires(case), "{}", case.ours);
    }
    let mut group = c.benchmark_group("next_fire");
    group.throughput(Throughput::Elements((cases.len() * FIRES) as u64));
    group.bench_function("pacer-cron", |b| {
        b.iter(|| {
            for case in &cases {
                black_box(pacer_fires(black_box(case)));
            }
        })
    });
    group.bench_function("croner", |b| {
        b.iter(|| {
            for case in &cases {
                black_box(croner_fires(black_box(case)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, next_fire);
criterion_main!(benches);
