//! Case-insensitive name lookup, as Windows clients expect from an NTFS-like share.
//!
//! Linux file systems are case-sensitive, so a client asking for `Report.DOCX` when the file is
//! `report.docx` would otherwise get OBJECT_NAME_NOT_FOUND. [`resolve_case`] runs only after an
//! exact lookup missed: it walks the path from the share root and, for each component that does
//! not exist as spelled, scans the directory for an entry equal to it under simple case folding
//! ([MS-FSCC 2.1.5] names compare case-insensitively). An exact match always wins; between
//! entries differing only in case the first one the directory returns is used. The corrected
//! path is then opened with the same confined resolver, so this changes spelling, never
//! confinement.

use std::io;
use std::os::fd::AsFd;

use rustix::fs::{Mode, OFlags};

use super::DiskRoot;
use super::path::{RelPath, open_beneath, validate_component};
use super::pattern::fold;

/// Most directory entries scanned per component (a bound on the work one lookup can cause).
pub const MAX_SCAN_ENTRIES: usize = 1_000_000;

fn eq_folded(a: &str, b: &str) -> bool {
    a.chars().map(fold).eq(b.chars().map(fold))
}

fn exists(root: &DiskRoot, path: &RelPath) -> bool {
    open_beneath(root.fd(), path, OFlags::PATH, Mode::empty()).is_ok()
}

/// The entry of directory `dir` equal to `name` ignoring case, if any.
pub fn find_folded<Fd: AsFd>(dir: Fd, name: &str) -> io::Result<Option<String>> {
    let mut d = rustix::fs::Dir::read_from(dir)?;
    let mut seen = 0usize;
    while let Some(entry) = d.read() {
        let entry = entry?;
        seen += 1;
        if seen > MAX_SCAN_ENTRIES {
            break;
        }
        let Ok(candidate) = entry.file_name().to_str() else {
            continue;
        };
        if validate_component(candidate).is_ok() && eq_folded(candidate, name) {
            return Ok(Some(candidate.to_owned()));
        }
    }
    Ok(None)
}

/// `path` with each component respelled as it exists on disk, where it exists in another case.
/// Components with no match (e.g. the leaf of a file about to be created) keep their spelling,
/// as does everything after the first missing directory.
pub fn resolve_case(root: &DiskRoot, path: &RelPath) -> RelPath {
    if path.is_root() || exists(root, path) {
        return path.clone();
    }
    let mut fixed = RelPath::root();
    let mut components = path.components().iter();
    for comp in components.by_ref() {
        let Ok(exact) = fixed.join(comp) else {
            return path.clone();
        };
        if exists(root, &exact) {
            fixed = exact;
            continue;
        }
        let found = open_beneath(
            root.fd(),
            &fixed,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .ok()
        .and_then(|dir| find_folded(&dir, comp).ok().flatten());
        match found.and_then(|real| fixed.join(&real).ok()) {
            Some(respelled) => fixed = respelled,
            None => {
                fixed = exact;
                break;
            }
        }
    }
    for rest in components {
        match fixed.join(rest) {
            Ok(p) => fixed = p,
            Err(_) => return path.clone(),
        }
    }
    fixed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn respells_existing_components_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Docs")).unwrap();
        std::fs::write(dir.path().join("Docs/Report.docx"), b"").unwrap();
        std::fs::write(dir.path().join("Docs/report.DOCX"), b"").unwrap();
        let root = DiskRoot::open(dir.path()).unwrap();
        let p = |s: &str| RelPath::parse(s).unwrap();
        assert_eq!(
            resolve_case(&root, &p("docs\\report.docx"))
                .to_smb()
                .to_lowercase(),
            "docs\\report.docx"
        );
        assert!(
            resolve_case(&root, &p("docs\\report.docx"))
                .to_smb()
                .starts_with("Docs\\")
        );
        // Exact spellings win.
        assert_eq!(
            resolve_case(&root, &p("Docs\\report.DOCX")).to_smb(),
            "Docs\\report.DOCX"
        );
        assert_eq!(
            resolve_case(&root, &p("DOCS\\Report.docx")).to_smb(),
            "Docs\\Report.docx"
        );
        // A new leaf keeps its spelling; so does everything after a missing directory.
        assert_eq!(
            resolve_case(&root, &p("docs\\New.txt")).to_smb(),
            "Docs\\New.txt"
        );
        assert_eq!(
            resolve_case(&root, &p("nodir\\Docs")).to_smb(),
            "nodir\\Docs"
        );
        assert_eq!(resolve_case(&root, &p("ÄBC")).to_smb(), "ÄBC");
    }
}
