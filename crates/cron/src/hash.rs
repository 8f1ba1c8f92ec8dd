//! The stable hash behind `H`: one key (a job's name) to one value per field.
//!
//! Written out by hand rather than taken from `std::hash` or a crate, because
//! the value is a promise: a job's `H` minute must never move when Rust or a
//! dependency is upgraded.

use crate::Field;

/// A value in `0..size` for `key` and `field`, evenly spread across keys.
pub(crate) fn hashed(key: &str, field: Field, size: u32) -> u32 {
    debug_assert!(size > 0);
    let mixed = splitmix64(fnv1a64(key.as_bytes()) ^ salt(field));
    // The multiply-shift maps 64 bits onto 0..size with a bias below 2^-32.
    ((u128::from(mixed) * u128::from(size)) >> 64) as u32
}

/// A different salt per field, so `H H * * *` does not tie the hour to the minute.
fn salt(field: Field) -> u64 {
    0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(field as u64 + 1)
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The SplitMix64 finaliser: spreads FNV's weak low bits over the whole word.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// These values are a compatibility promise: if this test fails, every
    /// user's `H` schedules would move. Do not update the expectations.
    #[test]
    fn values_are_stable_forever() {
        assert_eq!(hashed("prices.pull", Field::Minute, 60), 14);
        assert_eq!(hashed("prices.push", Field::Minute, 60), 48);
        assert_eq!(hashed("prices.pull", Field::Hour, 24), 11);
        assert_eq!(hashed("", Field::DayOfMonth, 28), 19);
    }

    #[test]
    fn spreads_evenly_across_keys() {
        let mut counts = [0u32; 60];
        let keys = 60_000;
        for i in 0..keys {
            counts[hashed(&format!("integration-{i}.pull"), Field::Minute, 60) as usize] += 1;
        }
        // Chi-squared with 59 degrees of freedom: 99.9th percentile is about 98.3.
        let expected = f64::from(keys) / 60.0;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (f64::from(c) - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 98.3, "chi2 = {chi2}, counts = {counts:?}");
    }

    #[test]
    fn fields_hash_independently() {
        let same = (0..1000)
            .filter(|i| {
                let key = format!("job{i}");
                hashed(&key, Field::Minute, 24) == hashed(&key, Field::Hour, 24)
            })
            .count();
        // Independent values agree about 1 time in 24.
        assert!(same < 100, "minute and hour agree for {same} of 1000 keys");
    }
}
