//! Memory sizes as minikube and k3d read and print them. Both parse a size with docker's
//! go-units `RAMInBytes` (binary units: `8g` is 8 GiB, not 8 GB) and k3d prints a node's limit
//! with go-units `HumanSize` (decimal units, 4 significant digits: 8 GiB is `8.59GB`).
//! Source: github.com/docker/go-units v0.5.0 (the version k3d v5.8.3 and minikube v1.37.0 pin in
//! go.mod), `size.go`.

use crate::model::types::parse_size;

/// Bytes in `s` as go-units v0.5.0 `RAMInBytes` reads it: a non-negative number with an
/// optional fraction, an optional space, then nothing (bytes), `b`, or one of `k m g t p`
/// (powers of 1024) optionally followed by `b` or `ib`, case-insensitive. So `8g`, `8gb`, `8GiB`
/// and `8.5G` are accepted and `8Gi` is not (go-units rejects a two-letter suffix not ending in
/// `b`). A fraction of a byte is dropped, as go-units' `int64(size)` does.
pub fn ram_in_bytes(s: &str) -> Option<u64> {
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(num_end);
    let sfx = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') || frac.len() > 18 {
        return None;
    }
    let mult: u64 = if sfx.is_empty() || sfx == "b" {
        1
    } else {
        let mut it = sfx.chars();
        let unit = match it.next()? {
            'k' => 1u64 << 10,
            'm' => 1 << 20,
            'g' => 1 << 30,
            't' => 1 << 40,
            'p' => 1 << 50,
            _ => return None,
        };
        match it.as_str() {
            "" | "b" | "ib" => unit,
            _ => return None,
        }
    };
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let part: u128 = if frac.is_empty() {
        0
    } else {
        let f: u128 = frac.parse().ok()?;
        f * u128::from(mult) / 10u128.pow(u32::try_from(frac.len()).ok()?)
    };
    whole
        .checked_mul(mult)?
        .checked_add(u64::try_from(part).ok()?)
}

/// Whether `reported`, a go-units `HumanSize` string (`8.59GB`, `512MB`), is what go-units
/// prints for `bytes`; `None` when `reported` is not a size at all. `HumanSize` keeps 4
/// significant digits (`%.4g`), so it is off by at most half a unit in the 4th digit: a relative
/// error of at most 5e-4. Equal within that is equal.
pub fn human_size_matches(reported: &str, bytes: u64) -> Option<bool> {
    let shown = parse_size(reported)?;
    let diff = u128::from(shown.abs_diff(bytes));
    Some(diff * 2000 <= u128::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_in_bytes_is_binary_like_go_units() {
        // After go-units v0.5.0 size_test.go TestRAMInBytes, plus alpaka's k3d default (`8g`)
        // and `32Gi`, which size.go rejects (a 2-letter suffix must end in `b`).
        assert_eq!(ram_in_bytes("32"), Some(32));
        assert_eq!(ram_in_bytes("32b"), Some(32));
        assert_eq!(ram_in_bytes("32k"), Some(32 << 10));
        assert_eq!(ram_in_bytes("32kb"), Some(32 << 10));
        assert_eq!(ram_in_bytes("32Kib"), Some(32 << 10));
        assert_eq!(ram_in_bytes("32Mb"), Some(32 << 20));
        assert_eq!(ram_in_bytes("32Gb"), Some(32 << 30));
        assert_eq!(ram_in_bytes("32G"), Some(32 << 30));
        assert_eq!(ram_in_bytes("32GIB"), Some(32 << 30));
        assert_eq!(ram_in_bytes("32Tb"), Some(32 << 40));
        assert_eq!(ram_in_bytes("32Pb"), Some(32 << 50));
        assert_eq!(ram_in_bytes("32.3"), Some(32));
        assert_eq!(ram_in_bytes("32.3 mb"), Some(33_869_004));
        assert_eq!(ram_in_bytes("0.3MB"), Some(314_572));
        assert_eq!(ram_in_bytes("8g"), Some(8_589_934_592));
        assert_eq!(ram_in_bytes(" 32 "), None);
        assert_eq!(ram_in_bytes("32m b"), None);
        assert_eq!(ram_in_bytes(""), None);
        assert_eq!(ram_in_bytes("hello"), None);
        assert_eq!(ram_in_bytes("-32"), None);
        assert_eq!(ram_in_bytes("32Gi"), None);
        assert_eq!(ram_in_bytes("32bm"), None);
        assert_eq!(ram_in_bytes("32 ib"), None);
        assert_eq!(ram_in_bytes("1.2.3g"), None);
    }

    #[test]
    fn human_size_rounding_is_tolerated_and_nothing_more() {
        // go-units v0.5.0 size_test.go TestHumanSize: 1024 -> "1.024kB", 1048576 -> "1.049MB".
        assert_eq!(human_size_matches("1.024kB", 1024), Some(true));
        assert_eq!(human_size_matches("1.049MB", 1 << 20), Some(true));
        // HumanSize(8 GiB) = "8.59GB", HumanSize(4 GiB) = "4.295GB", HumanSize(256 MiB) =
        // "268.4MB", HumanSize(1000 MiB) = "1.049GB" (go-units v0.5.0, `%.4g` of bytes/1000^n).
        assert_eq!(human_size_matches("8.59GB", 8 << 30), Some(true));
        assert_eq!(human_size_matches("4.295GB", 4 << 30), Some(true));
        assert_eq!(human_size_matches("268.4MB", 256 << 20), Some(true));
        assert_eq!(human_size_matches("1.049GB", 1000 << 20), Some(true));
        assert_eq!(human_size_matches("1.074GB", 1 << 30), Some(true));
        // A different limit is different, even a close one.
        assert_eq!(human_size_matches("8.59GB", 8_000_000_000), Some(false));
        assert_eq!(human_size_matches("4.295GB", 8 << 30), Some(false));
        assert_eq!(human_size_matches("1.049GB", 1001 << 20), Some(false));
        assert_eq!(human_size_matches("lots", 8 << 30), None);
    }
}
