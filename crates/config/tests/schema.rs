//! `pacer schema` against the loader: every file the loader takes, the
//! schema takes; every file the loader refuses for a reason a JSON Schema
//! can say, the schema refuses too — so an editor marks it where it is
//! written. What only the loader can check is listed, and checked to be so.

const GOOD: &str = "\
environment:
  name: acme
  timezone: Europe/Amsterdam
  capacity: 2
  retention: { finished: 7d }
systems:
  erp: { rate: 100/min, base_url: \"https://erp.example.com\" }
  webshop: { rate: 500/min, base_url: \"https://shop.example.com\" }
integrations:
  prices:
    from: erp
    to: webshop
    volume: 35000/day
    freshness: 30m
    pull: { max_items: 50, overlap: skip, catch_up: latest, cursor_compare: strict }
    push: { batch: 10, schedule: \"H/20 * * * *\", request: { method: PUT } }
alerts:
  send:
    - webhook: https://hooks.example.com/pacer
";

fn schema() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&pacer_config::schema()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn schema_takes(validator: &jsonschema::Validator, yaml: &str) -> bool {
    let value: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
    validator.is_valid(&value)
}

fn loader_takes(yaml: &str) -> bool {
    pacer_config::parse(yaml, "acme.yaml").is_ok()
}

#[test]
fn the_schema_has_its_id_and_public_names() {
    let schema: serde_json::Value = serde_json::from_str(&pacer_config::schema()).unwrap();
    assert_eq!(schema["$id"], pacer_config::SCHEMA_ID);
    let defs = schema["$defs"].as_object().unwrap();
    assert!(defs.contains_key("Job") && defs.contains_key("Environment"));
    assert!(
        !pacer_config::schema().contains("Raw"),
        "no loader-internal names"
    );
    let job = &defs["Job"]["properties"];
    assert_eq!(
        job["overlap"]["enum"],
        serde_json::json!(["skip", "queue_one", "allow"])
    );
    assert_eq!(job["overlap"]["default"], "skip");
    assert_eq!(job["timeout"]["default"], "30s");
    assert!(
        defs["Environment"]["properties"]["timezone"]["enum"]
            .as_array()
            .is_some_and(|zones| zones.iter().any(|z| z == "Europe/Amsterdam"))
    );
}

#[test]
fn the_schema_takes_what_the_loader_takes() {
    let validator = schema();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/acme.yaml"
    ))
    .unwrap();
    for (name, yaml) in [("GOOD", GOOD), ("examples/acme.yaml", example.as_str())] {
        assert!(loader_takes(yaml), "{name}");
        assert!(
            schema_takes(&validator, yaml),
            "{name}: the schema refuses a good file"
        );
    }
}

#[test]
fn the_schema_refuses_what_it_can_say_is_wrong() {
    let validator = schema();
    // Each a mistake a JSON Schema can point at: a word outside its set,
    // a number out of range, a misspelt key or zone, a wrong scheme.
    let expressible = [
        ("overlap: skip", "overlap: sometimes"),
        ("catch_up: latest", "catch_up: sometimes"),
        ("cursor_compare: strict", "cursor_compare: loose"),
        ("timezone: Europe/Amsterdam", "timezone: Europe/Amsterdm"),
        ("capacity: 2", "capacity: 0"),
        ("capacity: 2", "capacity: 5000"),
        ("batch: 10", "batch: 0"),
        ("    volume: 35000/day", "    volum: 35000/day"),
        ("volume: 35000/day", "volume: lots"),
        ("rate: 100/min", "rate: fast"),
        ("\"https://erp.example.com\"", "\"ftp://erp.example.com\""),
        ("method: PUT", "method: \"PUT IT\""),
    ];
    for (from, to) in expressible {
        let wrong = GOOD.replace(from, to);
        assert_ne!(wrong, GOOD, "{to}: the fixture did not change");
        assert!(!loader_takes(&wrong), "{to}: the loader takes it");
        assert!(
            !schema_takes(&validator, &wrong),
            "{to}: the schema takes what the loader refuses"
        );
    }
    // What only the loader can tell: a cron field's range, a duration's
    // grammar, jq that does not compile. The schema takes them (were it
    // to refuse one, it belongs in the list above).
    let loader_only = [
        ("H/20 * * * *", "61 * * * *"),
        ("freshness: 30m", "freshness: 30 minuets"),
        ("finished: 7d", "finished: 7 days and then some"),
        ("max_items: 50", "max_items: 50, records: \".items[\""),
    ];
    for (from, to) in loader_only {
        let wrong = GOOD.replace(from, to);
        assert_ne!(wrong, GOOD, "{to}: the fixture did not change");
        assert!(!loader_takes(&wrong), "{to}: the loader takes it");
        assert!(
            schema_takes(&validator, &wrong),
            "{to}: the schema refuses it now: move it up"
        );
    }
}

/// Every key an editor offers comes with what it means and how it is
/// written, and each example is one the schema itself takes.
#[test]
fn every_key_has_a_description_and_examples_the_schema_takes() {
    let schema: serde_json::Value = serde_json::from_str(&pacer_config::schema()).unwrap();
    let mut owners = vec![("the file".to_string(), &schema)];
    for (name, def) in schema["$defs"].as_object().unwrap() {
        owners.push((name.clone(), def));
    }
    let mut keys = 0;
    for (owner, def) in owners {
        let Some(properties) = def["properties"].as_object() else {
            continue;
        };
        for (key, property) in properties {
            keys += 1;
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{owner}.{key} has no description"
            );
            let examples = property["examples"].as_array();
            assert!(
                examples.is_some_and(|e| !e.is_empty()),
                "{owner}.{key} has no examples"
            );
            // The key's own schema, with the definitions it may refer to.
            let mut alone = property.clone();
            alone["$defs"] = schema["$defs"].clone();
            let validator = jsonschema::validator_for(&alone).unwrap();
            for example in examples.unwrap() {
                assert!(
                    validator.is_valid(example),
                    "{owner}.{key}'s example {example} is refused by its own schema"
                );
            }
        }
    }
    assert!(keys > 100, "only {keys} keys seen");
}
