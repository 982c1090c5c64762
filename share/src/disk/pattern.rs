//! Directory search patterns: [MS-FSA 2.1.4.4] "Algorithm for Determining if a FileName Is in an
//! Expression", with the DOS wildcards of [MS-FSCC 2.1.4.1] (`<` DOS_STAR, `>` DOS_QM, `"`
//! DOS_DOT) besides `*` and `?`, compared case-insensitively as Windows does.
//!
//! Matching is a dynamic programme over (pattern position, name position), so a hostile pattern
//! like `*a*a*a*…b` costs O(pattern × name) time and O(name) memory, never exponential
//! backtracking.

use rsmbd_protocol::NtStatus;

/// Longest pattern accepted, in characters (a file name is at most 255, so a longer pattern
/// could only match through wildcards, and each one costs pattern × name steps per entry).
pub const MAX_PATTERN_CHARS: usize = 512;

/// A compiled search pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Upper-cased pattern characters; `None` means "match everything" (`*` or empty).
    chars: Option<Vec<char>>,
    /// The pattern as given, when it has no wildcard (it names one entry).
    literal: Option<String>,
}

pub(crate) fn fold(c: char) -> char {
    // Simple case folding: the single-character upper case, as NTFS's upcase table does.
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

impl Pattern {
    /// Compiles a FileName from QUERY_DIRECTORY ([MS-SMB2 2.2.33]). An empty pattern means `*`.
    /// A pattern with a path separator or over [`MAX_PATTERN_CHARS`] is
    /// `STATUS_OBJECT_NAME_INVALID`.
    pub fn new(pattern: &str) -> Result<Self, NtStatus> {
        if pattern.contains(['\\', '/', '\0']) || pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(NtStatus::OBJECT_NAME_INVALID);
        }
        if pattern.is_empty() || pattern == "*" {
            return Ok(Self {
                chars: None,
                literal: None,
            });
        }
        let is_literal = !pattern.contains(['*', '?', '<', '>', '"']);
        Ok(Self {
            chars: Some(pattern.chars().map(fold).collect()),
            literal: is_literal.then(|| pattern.to_owned()),
        })
    }

    /// The name this pattern matches when it has no wildcard (as the client spelled it).
    pub fn literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }

    /// Does `name` match?
    pub fn matches(&self, name: &str) -> bool {
        let Some(p) = &self.chars else { return true };
        let n: Vec<char> = name.chars().map(fold).collect();
        let last_dot = n.iter().rposition(|&c| c == '.');
        let nlen = n.len();
        // next[j]: pattern[i+1..] matches name[j..]; cur[j]: pattern[i..] matches name[j..].
        // Two rows, filled from the end of both strings: O(name) memory per match.
        let mut next = vec![false; nlen + 1];
        if let Some(end) = next.get_mut(nlen) {
            *end = true;
        }
        let mut cur = vec![false; nlen + 1];
        for &pc in p.iter().rev() {
            for j in (0..=nlen).rev() {
                let nc = n.get(j).copied();
                let after = |jj: usize| next.get(jj).copied().unwrap_or(false);
                let here = |jj: usize| cur.get(jj).copied().unwrap_or(false);
                let v = match pc {
                    '*' => after(j) || (nc.is_some() && here(j + 1)),
                    '?' => nc.is_some() && after(j + 1),
                    // DOS_STAR: any run of characters up to and including the name's last dot,
                    // never beyond it (Samba's ms_fnmatch reads the spec the same way).
                    '<' => {
                        after(j) || (nc.is_some() && last_dot.is_none_or(|d| j <= d) && here(j + 1))
                    }
                    // DOS_QM: one non-dot character, or nothing at a dot or the end of the name.
                    '>' => match nc {
                        Some('.') | None => after(j),
                        Some(_) => after(j + 1),
                    },
                    // DOS_DOT: a dot, or nothing at the end of the name.
                    '"' => match nc {
                        Some('.') => after(j + 1),
                        None => after(j),
                        Some(_) => false,
                    },
                    c => nc == Some(c) && after(j + 1),
                };
                if let Some(cell) = cur.get_mut(j) {
                    *cell = v;
                }
            }
            std::mem::swap(&mut next, &mut cur);
        }
        next.first().copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        Pattern::new(p).unwrap().matches(n)
    }

    #[test]
    fn star_and_question_mark() {
        assert!(m("*", "anything.txt"));
        assert!(m("", "anything.txt"));
        assert!(m("*.txt", "a.txt"));
        assert!(m("*.TXT", "a.txt"));
        assert!(!m("*.txt", "a.txt.bak"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(m("file.txt", "FILE.TXT"));
        assert!(!m("file.txt", "file.txt2"));
        assert!(m("ÄBC*", "äbcdef"));
        assert!(m("*", "."));
        assert!(!m("*.txt", ".."));
    }

    #[test]
    fn dos_wildcards() {
        // "*.*" as Windows translates it for the file system: <"*
        assert!(m("<\"*", "a.txt"));
        assert!(m("<\"*", "noext"));
        // DOS_STAR stops at the last dot.
        assert!(m("<.txt", "a.b.txt"));
        assert!(!m("<", "a.b"));
        assert!(m("<", "noext"));
        assert!(m("<txt", "a.txt"));
        assert!(m("<.b", "a.b"));
        // DOS_QM matches one char, or nothing before a dot / at end.
        assert!(m("a>>", "a"));
        assert!(m("a>>.txt", "ab.txt"));
        assert!(!m("a>.txt", "abc.txt"));
        // DOS_DOT matches a dot or the end.
        assert!(m("abc\"", "abc"));
        assert!(m("abc\"txt", "abc.txt"));
        assert!(!m("abc\"", "abcd"));
    }

    #[test]
    fn literal_and_invalid() {
        assert_eq!(Pattern::new("a.txt").unwrap().literal(), Some("a.txt"));
        assert_eq!(Pattern::new("a*.txt").unwrap().literal(), None);
        assert_eq!(Pattern::new("*").unwrap().literal(), None);
        assert_eq!(Pattern::new("").unwrap().literal(), None);
        assert_eq!(Pattern::new("a\\b"), Err(NtStatus::OBJECT_NAME_INVALID));
        assert_eq!(
            Pattern::new(&"*".repeat(2000)),
            Err(NtStatus::OBJECT_NAME_INVALID)
        );
    }

    #[test]
    fn hostile_pattern_is_fast() {
        let p = format!("{}b", "*a".repeat(255));
        let name = "a".repeat(255);
        let start = std::time::Instant::now();
        assert!(!m(&p, &name));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
