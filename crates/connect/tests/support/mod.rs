//! What the connector tests share.

use pacer_connect::Outgoing;

/// A task for each SKU, its price the SKU's place: `{"key", "sku", "amount": "1.00"}`.
pub(crate) fn prices(skus: &[&str]) -> Vec<Outgoing> {
    skus.iter()
        .zip(1..)
        .map(|(sku, id)| Outgoing {
            id,
            payload: format!(r#"{{"key": "{sku}", "sku": "{sku}", "amount": "{id}.00"}}"#),
            batch_key: None,
        })
        .collect()
}
