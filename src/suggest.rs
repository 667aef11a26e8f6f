//! "Did you mean" suggestions, one implementation for every message that offers one
//! (config keys, profile names, resource ids, template variables).

/// Optimal string alignment distance, case-insensitive: insertions, deletions, substitutions
/// and transpositions of neighbours each cost 1 (`db_hots` is one slip from `db_host`).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
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
            // Replacing every letter is not a typo (`x` is no slip of `b`).
            ((d <= limit || prefix >= 5) && d < word.chars().count())
                .then_some((d as isize - prefix as isize, c))
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
