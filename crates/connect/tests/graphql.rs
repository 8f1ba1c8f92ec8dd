//! Pushes to a real GraphQL server: graphql-yoga from npm, in
//! `tests/graphql` (`.ci/run` installs its packages). Like the shop APIs
//! users meet, it answers 200 with `errors` for a wrong token or an
//! unknown SKU; `push.success` is what tells those apart from a success.

mod support;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use jiff::Timestamp;
use pacer_connect::{Delivery, Destination};
use support::prices;

/// The GraphQL server, stopped when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server with `token` as the one it accepts.
fn server(token: &str) -> Server {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/graphql");
    assert!(
        dir.join("node_modules/graphql-yoga").is_dir(),
        "the GraphQL test server needs its packages: run tests/setup (.ci/run does)"
    );
    let mut child = Command::new("node")
        .arg("server.mjs")
        .current_dir(&dir)
        .env("GRAPHQL_TOKEN", token)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the GraphQL test server (.ci/run installs Node.js when missing)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|u| u.strip_suffix("/graphql"))
        .unwrap_or_else(|| panic!("the server said {line:?}"))
        .to_string();
    Server { child, url }
}

/// One price a request, one mutation each.
const ONE: &str = "      request: { method: POST, path: /graphql }\n      \
    transform: '{query: \"mutation ($sku: String!, $price: String!) { setPrice(sku: $sku, price: $price) }\", \
    variables: {sku, price: .amount}}'\n";
/// The answer's `errors` checked.
const CHECK: &str = "      success: '.errors == null'\n";
/// Up to ten prices a request, as one mutation with a list.
const BATCH: &str = "      request: { method: POST, path: /graphql }\n      \
    transform: '{sku, price: .amount}'\n      batch: 10\n      \
    body: '{query: \"mutation ($input: [PriceInput!]!) { setPrices(input: $input) }\", variables: {input: .}}'\n      \
    success: '.errors == null'\n";

/// A destination that pushes to the server at `url` with `token`, its
/// push written as `push` (YAML lines under `push:`).
fn destination(url: &str, token: &str, push: &str) -> Destination {
    let yaml = format!(
        "systems:\n  erp: {{ rate: 100/min, base_url: \"{url}\" }}\n  \
         shop: {{ rate: 100/min, base_url: \"{url}\", auth: {{ bearer: \"{token}\" }} }}\n\
         integrations:\n  prices:\n    from: erp\n    to: shop\n    volume: 2400/day\n    push:\n{push}"
    );
    let config = pacer_config::parse(&yaml, "graphql.yaml").unwrap();
    Destination::new("prices", &config.connections[1], &config.flows[0].push).unwrap()
}

/// What the server holds for `sku`, asked over GraphQL.
async fn price(url: &str, sku: &str) -> serde_json::Value {
    ask(url, &format!(r#"{{ price(sku: "{sku}") }}"#)).await["price"].clone()
}

#[tokio::test]
async fn graphql_errors_in_200_answers_fail_the_delivery_with_the_reason() {
    let server = server("s3cret");
    let now = Timestamp::now();

    // Without a check, a wrong token's FORBIDDEN looks delivered: the
    // silent failure the issue found.
    let unchecked = destination(&server.url, "wrong", ONE);
    let delivered = unchecked.deliver(&prices(&["SKU-1"]), now).await;
    assert_eq!(delivered, [Delivery::Delivered]);
    assert_eq!(price(&server.url, "SKU-1").await, serde_json::Value::Null);

    // With `success`, the same answer is a dead task that says why.
    let wrong = destination(&server.url, "wrong", &format!("{ONE}{CHECK}"));
    for outcome in wrong.deliver(&prices(&["SKU-1", "SKU-2"]), now).await {
        let Delivery::Reject { error } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            error.contains("200 OK, but push.success is not true"),
            "{error}"
        );
        assert!(error.contains("FORBIDDEN"), "{error}");
        assert!(
            !error.contains("s3cret") && !error.contains("wrong"),
            "{error}"
        );
    }

    // The right token: delivered, and the shop has the prices.
    let right = destination(&server.url, "s3cret", &format!("{ONE}{CHECK}"));
    let delivered = right.deliver(&prices(&["SKU-1", "SKU-2"]), now).await;
    assert_eq!(delivered, [Delivery::Delivered, Delivery::Delivered]);
    assert_eq!(price(&server.url, "SKU-1").await, "1.00");
    assert_eq!(price(&server.url, "SKU-2").await, "2.00");

    // A SKU the shop does not know: dead, with its NOT_FOUND.
    let delivered = right.deliver(&prices(&["X-9"]), now).await;
    let [Delivery::Reject { error }] = delivered.as_slice() else {
        panic!("{delivered:?}")
    };
    assert!(
        error.contains("NOT_FOUND: no variant with SKU X-9"),
        "{error}"
    );
}

/// `batch` with a `body`: the records of a request become one mutation
/// with a list, as GraphQL and many REST APIs want them.
#[tokio::test]
async fn a_batch_is_one_mutation_with_a_list() {
    let server = server("s3cret");
    let now = Timestamp::now();
    let batch = destination(&server.url, "s3cret", BATCH);
    let delivered = batch
        .deliver(&prices(&["SKU-3", "SKU-4", "SKU-5"]), now)
        .await;
    assert_eq!(delivered, vec![Delivery::Delivered; 3]);
    // One request carried all three.
    assert_eq!(batch.responses(), [(200, 1)]);
    assert_eq!(price(&server.url, "SKU-3").await, "1.00");
    assert_eq!(price(&server.url, "SKU-5").await, "3.00");
    // An unknown SKU fails the mutation, and so the whole batch.
    for outcome in batch.deliver(&prices(&["SKU-6", "X-1"]), now).await {
        let Delivery::Reject { error } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            error.contains("NOT_FOUND: no variant with SKU X-1"),
            "{error}"
        );
    }
}

/// A destination on the server at `url` with a `variants` lookup (SKU →
/// id) read by POST as `read` says (YAML lines: body, records, pages),
/// its push written as `push` (YAML lines under `push:`).
fn with_variants(url: &str, read: &str, push: &str) -> Destination {
    let yaml = format!(
        "systems:\n  erp: {{ rate: 100/min }}\n  \
         shop:\n    rate: 100/min\n    base_url: \"{url}\"\n    auth: {{ bearer: s3cret }}\n    \
         lookups:\n      variants:\n        request: {{ method: POST, path: /graphql }}\n        \
         {read}\n        key: .sku\n        value: .id\n\
         integrations:\n  prices:\n    from: erp\n    to: shop\n    volume: 2400/day\n    push:\n      \
         {push}\n"
    );
    let config = pacer_config::parse(&yaml, "graphql.yaml").unwrap();
    Destination::new("prices", &config.connections[1], &config.flows[0].push).unwrap()
}

/// Asks the server over GraphQL, with the token, for `query`'s data.
async fn ask(url: &str, query: &str) -> serde_json::Value {
    let answer: serde_json::Value = client()
        .post(format!("{url}/graphql"))
        .bearer_auth("s3cret")
        .json(&serde_json::json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["data"].clone()
}

/// The shop updates a variant by its own id, not the ERP's SKU: a lookup
/// reads the shop's SKU→id map (with the system's auth), the transform
/// reads it, a variant created since is found by reading it again, and a
/// SKU the shop lacks is dead with the reason — no 2,000-entry map inlined
/// in the transform.
#[tokio::test]
async fn the_shops_ids_are_looked_up_by_sku() {
    let server = server("s3cret");
    let shop = with_variants(
        &server.url,
        "body: '{query: \"{ variants { id sku } }\"}'\n        \
         records: .data.variants[]",
        "request: { method: POST, path: /graphql }\n      \
         transform: '{query: \"mutation ($id: ID!, $price: String!) { setVariantPrice(id: $id, price: $price) }\", \
         variables: {id: lookup(\"variants\"; .sku), price: .amount}}'\n      \
         success: '.errors == null'",
    );
    let now = Timestamp::now();

    let delivered = shop.deliver(&prices(&["SKU-1", "SKU-2"]), now).await;
    assert_eq!(delivered, [Delivery::Delivered, Delivery::Delivered]);
    let variant =
        |n: u32| format!(r#"{{ variant(id: "gid://shop/ProductVariant/{n}") {{ sku price }} }}"#);
    assert_eq!(
        ask(&server.url, &variant(101)).await["variant"],
        serde_json::json!({"sku": "SKU-1", "price": "1.00"})
    );
    assert_eq!(
        ask(&server.url, &variant(102)).await["variant"]["price"],
        "2.00"
    );

    // A merchant adds a variant; the map read a moment ago lacks it, so it
    // is read again and the price goes to the new variant.
    let added = ask(&server.url, r#"mutation { addVariant(sku: "SKU-6") }"#).await;
    assert_eq!(added["addVariant"], "gid://shop/ProductVariant/106");
    let later = now + jiff::SignedDuration::from_mins(2);
    let delivered = shop.deliver(&prices(&["SKU-6"]), later).await;
    assert_eq!(delivered, [Delivery::Delivered]);
    assert_eq!(
        ask(&server.url, &variant(106)).await["variant"],
        serde_json::json!({"sku": "SKU-6", "price": "1.00"})
    );

    // A SKU the shop does not have: dead, saying which lookup and key.
    // Within a minute of the last read it is not read again for it.
    let delivered = shop
        .deliver(
            &prices(&["SKU-9"]),
            later + jiff::SignedDuration::from_secs(10),
        )
        .await;
    let [Delivery::Reject { error }] = delivered.as_slice() else {
        panic!("{delivered:?}")
    };
    assert!(
        error.contains(r#"the lookup "variants" has no entry for "SKU-9""#),
        "{error}"
    );
    assert!(!error.contains("read again"), "{error}");
    let much_later = later + jiff::SignedDuration::from_mins(5);
    let delivered = shop.deliver(&prices(&["SKU-9"]), much_later).await;
    let [Delivery::Reject { error }] = delivered.as_slice() else {
        panic!("{delivered:?}")
    };
    assert!(error.ends_with("(read again just now)"), "{error}");
    // Only the three deliveries went to the mutation.
    assert_eq!(shop.responses(), [(200, 3)]);
}

/// A lookup read by POST whose pages follow a cursor in the body, as
/// GraphQL APIs page: SKU-5 is on the third page, and found.
#[tokio::test]
async fn a_lookup_read_by_post_follows_its_pages() {
    let server = server("s3cret");
    let shop = with_variants(
        &server.url,
        "body: '{query: \"query ($after: String) { variantPage(after: $after) { nodes { id sku } next } }\", variables: {after: .page_token}}'\n        \
         paginate: { next: .data.variantPage.next }\n        \
         records: .data.variantPage.nodes[]",
        "request: { path: /graphql }\n      \
         graphql: { query: \"mutation ($id: ID!, $price: String!) { setVariantPrice(id: $id, price: $price) }\", \
         variables: '{id: lookup(\"variants\"; .sku), price: .amount}' }",
    );
    let delivered = shop
        .deliver(&prices(&["SKU-1", "SKU-5"]), Timestamp::now())
        .await;
    assert_eq!(delivered, [Delivery::Delivered, Delivery::Delivered]);
    let variant = ask(
        &server.url,
        r#"{ variant(id: "gid://shop/ProductVariant/105") { sku price } }"#,
    )
    .await;
    assert_eq!(
        variant["variant"],
        serde_json::json!({"sku": "SKU-5", "price": "2.00"})
    );
    // Three pages of the map, read once: no miss made it read again.
    assert_eq!(shop.lookup_reads(), (3, 5));
}

/// `graphql:` says the same in one key: the mutation and its variables;
/// POST, the answer's `errors` checked, and with `batch` one mutation
/// whose `$input` lists each record's variables.
#[tokio::test]
async fn the_graphql_shorthand_sends_and_checks_the_same() {
    let server = server("s3cret");
    let now = Timestamp::now();
    let one = "      request: { path: /graphql }\n      \
        graphql: { query: \"mutation ($sku: String!, $price: String!) { setPrice(sku: $sku, price: $price) }\", \
        variables: \"{sku, price: .amount}\" }\n";
    let wrong = destination(&server.url, "wrong", one);
    let refused = wrong.deliver(&prices(&["SKU-1"]), now).await;
    assert!(
        matches!(&refused[..], [Delivery::Reject { error }] if error.contains("FORBIDDEN")),
        "{refused:?}"
    );
    let right = destination(&server.url, "s3cret", one);
    assert_eq!(
        right.deliver(&prices(&["SKU-1"]), now).await,
        [Delivery::Delivered]
    );
    assert_eq!(price(&server.url, "SKU-1").await, "1.00");

    let batch = "      request: { path: /graphql }\n      batch: 10\n      \
        graphql: { query: \"mutation ($input: [PriceInput!]!) { setPrices(input: $input) }\", \
        variables: \"{sku, price: .amount}\" }\n";
    let shop = destination(&server.url, "s3cret", batch);
    let delivered = shop.deliver(&prices(&["SKU-7", "SKU-8"]), now).await;
    assert_eq!(delivered, vec![Delivery::Delivered; 2]);
    assert_eq!(shop.responses(), [(200, 1)]);
    assert_eq!(price(&server.url, "SKU-8").await, "2.00");
}

/// A bulk mutation that reports each item: `each` maps the answer back to
/// the batch's records, so the unknown SKU goes dead with its reason and
/// the others are delivered — from one request.
#[tokio::test]
async fn each_record_of_a_batch_gets_its_own_result() {
    let server = server("s3cret");
    let push = "      request: { path: /graphql }\n      batch: 10\n      \
        graphql: { query: \"mutation ($input: [PriceInput!]!) { setPricesEach(input: $input) { sku ok error } }\", \
        variables: \"{sku, price: .amount}\" }\n      \
        each: '.data.setPricesEach[] | if .ok then null else .error end'\n";
    let shop = destination(&server.url, "s3cret", push);
    let delivered = shop
        .deliver(&prices(&["SKU-1", "X-9", "SKU-3"]), Timestamp::now())
        .await;
    assert_eq!(delivered[0], Delivery::Delivered);
    assert!(
        matches!(&delivered[1], Delivery::Reject { error } if error.contains("push.each says of this record: NOT_FOUND: no variant with SKU X-9")),
        "{delivered:?}"
    );
    assert_eq!(delivered[2], Delivery::Delivered);
    assert_eq!(shop.responses(), [(200, 1)]);
    assert_eq!(price(&server.url, "SKU-1").await, "1.00");
    assert_eq!(price(&server.url, "SKU-3").await, "3.00");
}

/// An HTTP client for the test, with the TLS provider Pacer installs.
fn client() -> reqwest::Client {
    pacer_connect::install_tls();
    reqwest::Client::new()
}
