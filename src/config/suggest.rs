//! "Did you mean" suggestions: the closest candidate by edit distance.

/// Levenshtein distance, by chars, case-insensitive (a case slip is the most common typo).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if close enough to be a plausible typo.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, c)| {
            *d <= limit || c.to_lowercase().contains(&word.to_lowercase()) && word.len() >= 3
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("replicaCnt", "replicaCount"), 2);
        assert_eq!(distance("ReplicaCount", "replicaCount"), 0);
    }

    #[test]
    fn closest_picks_plausible() {
        let keys = ["replicaCount", "numPartitions", "version"];
        assert_eq!(closest("replicaCnt", keys), Some("replicaCount"));
        assert_eq!(closest("versoin", keys), Some("version"));
        assert_eq!(closest("zzzzzz", keys), None);
    }
}
