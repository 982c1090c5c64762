//! 8.3 short names for FileAlternateNameInformation ([MS-FSCC 2.4.5]; the 8.3 rules of
//! [MS-FSCC 2.1.5.2.1]).
//!
//! Linux file systems keep no short names, so one is derived from the long name: a name that
//! already fits 8.3 is returned upper-cased; any other becomes up to five characters of the
//! base, `~`, two characters of a hash of the whole name, and up to three characters of the
//! extension (`REPORT~K7.DOC`), much as Samba mangles names. Short names are informational:
//! they are not accepted back in CREATE.

/// Characters allowed in an 8.3 name besides letters and digits.
fn is_83_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'()-@^_`{}~".contains(c)
}

/// True if `name` is already a valid 8.3 name (ignoring case).
pub fn fits_83(name: &str) -> bool {
    let (base, ext) = match name.rsplit_once('.') {
        Some((b, e)) => (b, Some(e)),
        None => (name, None),
    };
    let ok = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.chars().all(is_83_char);
    ok(base, 8) && ext.is_none_or(|e| ok(e, 3))
}

/// FNV-1a: a small stable hash, so the same long name always gets the same short name.
fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811C_9DC5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn base36(v: u32) -> char {
    char::from_digit(v % 36, 36)
        .unwrap_or('0')
        .to_ascii_uppercase()
}

/// The 8.3 name reported for `name`.
pub fn short_name(name: &str) -> String {
    if fits_83(name) {
        return name.to_ascii_uppercase();
    }
    let (base, ext) = match name.rsplit_once('.') {
        Some((b, e)) if !b.is_empty() => (b, e),
        _ => (name, ""),
    };
    let clean = |s: &str, max: usize| -> String {
        s.chars()
            .filter(|&c| is_83_char(c))
            .take(max)
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let mut prefix = clean(base, 5);
    if prefix.is_empty() {
        prefix.push('_');
    }
    let h = fnv1a(name);
    let mut out = format!("{prefix}~{}{}", base36(h), base36(h / 36));
    let ext = clean(ext, 3);
    if !ext.is_empty() {
        out.push('.');
        out.push_str(&ext);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_three_names() {
        assert_eq!(short_name("small.txt"), "SMALL.TXT");
        assert_eq!(short_name("README"), "README");
        let long = short_name("A Long Report Name.docx");
        assert!(
            long.starts_with("ALONG~") && long.ends_with(".DOC"),
            "{long}"
        );
        assert_eq!(long, short_name("A Long Report Name.docx"), "stable");
        assert_ne!(long, short_name("A Long Report Name 2.docx"));
        let odd = short_name("ünïcødé");
        assert!(odd.len() <= 12 && odd.is_ascii(), "{odd}");
        assert!(short_name(".bashrc").starts_with("BASHR~"));
        for n in [
            "x".repeat(255),
            "a.b.c.d".into(),
            "...".into(),
            "é.é".into(),
        ] {
            let s = short_name(&n);
            assert!(s.len() <= 12 && s.is_ascii(), "{n:?} -> {s}");
        }
    }
}
