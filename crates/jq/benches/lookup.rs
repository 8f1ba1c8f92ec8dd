//! A transform that finds a shop's id by SKU among 2,000: with
//! `lookup("variants"; .sku)` over a map read once, against the workaround
//! users had before lookups — the whole map inlined in the transform as an
//! object literal, which jq builds again for every record.
//!
//! `cargo bench -p pacer-jq --bench lookup`

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use pacer_jq::{Filter, Limits};

const VARIANTS: usize = 2_000;

fn id(n: usize) -> String {
    format!("gid://shop/ProductVariant/{}", 100_000 + n)
}

fn lookups(c: &mut Criterion) {
    let map: Vec<String> = (0..VARIANTS)
        .map(|n| format!(r#""SKU-{n}":"{}""#, id(n)))
        .collect();
    let map = format!("{{{}}}", map.join(","));
    let inline = Filter::compile(&format!("{{id: {map}[.sku], price: .amount}}")).unwrap();
    let looked_up = Filter::compile(r#"{id: lookup("variants"; .sku), price: .amount}"#).unwrap();
    let variants = pacer_jq::parse(format!(r#"{{"variants":{map}}}"#).as_bytes()).unwrap();
    let record = pacer_jq::parse(br#"{"sku": "SKU-1234", "amount": "9.99"}"#).unwrap();
    // Unoptimised (`cargo test --benches`), jq building the inlined
    // literal recurses past the default 8 MiB budget: one more cost of
    // the workaround. Both filters get the thread's room.
    let limits = Limits {
        stack: 192 << 20,
        ..Limits::default()
    };
    let expected = format!(r#"{{"id":"{}","price":"9.99"}}"#, id(1234));
    // Both give the same answer; only then is their speed compared.
    assert_eq!(
        inline.run(&record, &limits).unwrap()[0].to_string(),
        expected
    );
    let found = looked_up.run_with(&record, &variants, &limits).unwrap();
    assert_eq!(found[0].to_string(), expected);

    let mut group = c.benchmark_group("transform with a 2,000-entry map, per record");
    group.bench_function("lookup(\"variants\"; .sku)", |b| {
        b.iter(|| black_box(looked_up.run_with(black_box(&record), &variants, &limits)))
    });
    let plain = Filter::compile("{id: .sku, price: .amount}").unwrap();
    group.bench_function("no map: {id: .sku, price: .amount}", |b| {
        b.iter(|| black_box(plain.run(black_box(&record), &limits)))
    });
    group.bench_function("the map inlined as an object literal", |b| {
        b.iter(|| black_box(inline.run(black_box(&record), &limits)))
    });
    group.finish();
}

criterion_group!(benches, lookups);

/// Filters recurse as deep as the values they build: a 2,000-entry object
/// literal overflows the main thread's stack in a debug build (`cargo
/// test --benches`), so the benchmarks run on a thread with room, as
/// pacer-connect runs filters.
fn main() {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            benches();
            Criterion::default().configure_from_args().final_summary();
        })
        .unwrap()
        .join()
        .unwrap();
}
