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

/// The candidate closest to `word`, if close enough to be a plausible typo. A long shared
/// prefix counts in favour (`replicas` → `replicaCount`).
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .filter_map(|c| {
            let d = distance(word, c);
            let prefix = common_prefix(word, c);
            (d <= limit || prefix >= 5).then_some((d as isize - prefix as isize, c))
        })
        .min_by_key(|(score, _)| *score)
        .map(|(_, c)| c)
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars()
        .zip(b.chars())
        .take_while(|(x, y)| x.eq_ignore_ascii_case(y))
        .count()
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
        let kafka = ["minInsyncReplicas", "replicaCount"];
        assert_eq!(closest("replicas", kafka), Some("replicaCount"));
    }
}
