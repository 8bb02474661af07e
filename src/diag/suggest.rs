//! "Did you mean" suggestions: the closest candidate by edit distance.

/// Edit distance between two strings, by characters; swapping two neighbours counts as one
/// edit (optimal string alignment).
pub fn distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// The candidate closest to `name`, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1) + 1;
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            let d = if c.eq_ignore_ascii_case(name) {
                0
            } else {
                distance(&name.to_ascii_lowercase(), &c.to_ascii_lowercase())
            };
            (d, c)
        })
        .filter(|(d, _)| *d < limit)
        // On a tie, a candidate of the typo's own length (a swap or a wrong letter) beats one
        // that needs a letter added or dropped: `iud` means `uid` rather than `id`.
        .min_by_key(|(d, c)| {
            (
                *d,
                c.chars().count().abs_diff(name.chars().count()),
                c.len(),
            )
        })
        .map(|(_, c)| c)
}

/// "did you mean `x`?" or a list of the valid names.
pub fn help_for(name: &str, candidates: &[&str], what: &str) -> String {
    if let Some(best) = closest(name, candidates.iter().copied()) {
        format!("did you mean `{best}`?")
    } else if candidates.is_empty() {
        format!("there are no {what} here")
    } else {
        let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
        format!("{what}: {}", list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("size", "size"), 0);
        assert_eq!(distance("sise", "size"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("imgae", "image"), 1);
    }

    #[test]
    fn closest_finds_typos_only() {
        let names = ["size", "layers", "user", "uid"];
        assert_eq!(closest("sise", names), Some("size"));
        assert_eq!(closest("layer", names), Some("layers"));
        assert_eq!(closest("Size", names), Some("size"));
        assert_eq!(closest("healthcheck", names), None);
        assert_eq!(closest("iud", ["id", "uid", "gid"]), Some("uid"));
    }
}
