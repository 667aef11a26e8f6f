//! Random strings from the OS (generated passwords, `alpaka test` run ids).

use std::io::Read;

/// `len` characters drawn uniformly from `alphabet` (at most 256 symbols) with bytes from
/// `/dev/urandom`.
pub fn string(alphabet: &[u8], len: usize) -> std::io::Result<String> {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    // Rejection sampling keeps the distribution uniform.
    let limit = 256 / alphabet.len() * alphabet.len();
    let mut out = String::with_capacity(len);
    let mut f = std::fs::File::open("/dev/urandom")?;
    let mut bytes = vec![0u8; len * 2];
    while out.len() < len {
        f.read_exact(&mut bytes)?;
        out.extend(
            bytes
                .iter()
                .filter(|b| usize::from(**b) < limit)
                .take(len - out.len())
                .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()])),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_have_the_length_and_alphabet_asked_for_and_differ() {
        let a = super::string(b"abc", 64).unwrap();
        let b = super::string(b"abc", 64).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| b"abc".contains(&c)));
        assert_ne!(a, b);
    }
}
