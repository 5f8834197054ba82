//! Ranking search matches: exact code matches first, then name prefixes,
//! then any other match of a name or code, alphabetical within each.

/// How well a record matches a search text; smaller is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchRank {
    /// The text is the record's code.
    ExactCode,
    /// A name starts with the text.
    NamePrefix,
    /// A name or the code contains the text.
    Contains,
}

/// Ranks a record with `code` and `names` against `text`, case-insensitively.
/// `None` when it does not match at all.
pub fn rank(text: &str, code: &str, names: &[&str]) -> Option<MatchRank> {
    let text = text.trim().to_lowercase();
    if text.is_empty() {
        return None;
    }
    let code = code.to_lowercase();
    let names: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
    if code == text {
        Some(MatchRank::ExactCode)
    } else if names.iter().any(|name| name.starts_with(&text)) {
        Some(MatchRank::NamePrefix)
    } else if code.contains(&text) || names.iter().any(|name| name.contains(&text)) {
        Some(MatchRank::Contains)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_beat_prefixes_beat_other_matches() {
        assert_eq!(rank("ar", "AR", &["Argentina"]), Some(MatchRank::ExactCode));
        assert_eq!(
            rank("Arg", "AR", &["Argentina"]),
            Some(MatchRank::NamePrefix)
        );
        assert_eq!(
            rank("gentin", "AR", &["Argentina"]),
            Some(MatchRank::Contains)
        );
        assert_eq!(
            rank("广东", "CN-GD", &["Guangdong", "广东"]),
            Some(MatchRank::NamePrefix)
        );
        assert_eq!(rank("x", "AR", &["Argentina"]), None);
        assert_eq!(rank("  ", "AR", &["Argentina"]), None);
    }
}
