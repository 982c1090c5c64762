//! Directory enumeration with a cursor kept on the open ([MS-SMB2 3.3.5.18], [MS-FSA 2.1.5.6.3]).
//!
//! The first query of an enumeration reads the directory's names once, keeps those the pattern
//! matches (sorted case-insensitively, as NTFS returns them, with `.` and `..` first), and later
//! queries walk that list: a giant directory is read once per enumeration, and only names are
//! held, not metadata. Each entry is `stat`ed when it is returned, so the answer is current.
//!
//! Entries that cannot be expressed to a Windows client are skipped: names that are not UTF-8 or
//! contain characters NTFS forbids (`\`, `:`, `*`, …), special files (FIFOs, sockets, devices),
//! and symlinks that dangle or lead outside the share (resolved beneath the root, so a listing
//! never reveals metadata of a file outside the share).

use std::fs::File;
use std::io;

use rustix::fs::{Mode, OFlags};

use super::DiskRoot;
use super::meta::FileMeta;
use super::path::{RelPath, open_beneath, validate_component};
use super::pattern::Pattern;

/// One directory entry ready to be encoded.
#[derive(Debug, Clone)]
pub struct DirEntryInfo {
    /// The name as the client sees it.
    pub name: String,
    /// Its metadata (of the symlink target for a symlink inside the share).
    pub meta: FileMeta,
}

/// An enumeration in progress: the matching names and the position of the next one.
#[derive(Debug)]
pub struct Enumeration {
    names: Vec<String>,
    pos: usize,
    pattern: Pattern,
}

fn sort_key(name: &str) -> String {
    name.to_uppercase()
}

impl Enumeration {
    /// Starts an enumeration of the open directory `dir` (reached by `dir_path`).
    pub fn start(dir: &File, pattern: Pattern) -> io::Result<Self> {
        if let Some(name) = pattern.literal() {
            // One name asked for (clients do this to stat a single file): look it up instead
            // of reading the whole directory; case-insensitively, like every lookup.
            let names = match name {
                "." | ".." => vec![name.to_owned()],
                _ => find_entry(dir, name)?.into_iter().collect(),
            };
            return Ok(Self {
                names,
                pos: 0,
                pattern,
            });
        }
        let mut names = Vec::new();
        let mut d = rustix::fs::Dir::read_from(dir)?;
        while let Some(entry) = d.read() {
            let entry = entry?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." || validate_component(name).is_err() {
                continue;
            }
            if pattern.matches(name) {
                names.push(name.to_owned());
            }
        }
        names.sort_by_cached_key(|n| sort_key(n));
        let mut all = Vec::with_capacity(names.len() + 2);
        for dot in [".", ".."] {
            if pattern.matches(dot) {
                all.push(dot.to_owned());
            }
        }
        all.extend(names);
        Ok(Self {
            names: all,
            pos: 0,
            pattern,
        })
    }

    /// The pattern this enumeration was started with.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// True if the pattern matched nothing at all (not even `.`/`..`).
    pub fn matched_nothing(&self) -> bool {
        self.names.is_empty()
    }

    /// The next entry without consuming it (so an entry that does not fit in the response buffer
    /// is returned by the next query). Entries that vanished or cannot be served are skipped.
    pub fn peek(
        &mut self,
        root: &DiskRoot,
        dir: &File,
        dir_path: &RelPath,
    ) -> Option<DirEntryInfo> {
        loop {
            let name = self.names.get(self.pos)?;
            if let Some(info) = stat_entry(root, dir, dir_path, name) {
                return Some(info);
            }
            self.pos += 1;
        }
    }

    /// The position of the next entry (for rewinding when a batch does not fit).
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Rewinds or advances to a position previously read with [`Enumeration::pos`].
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.names.len());
    }

    /// Consumes the entry last returned by [`Enumeration::peek`].
    pub fn advance(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }
}

/// The entry of `dir` named `name`: exactly, else ignoring case; `None` if there is none (or the
/// name is not a valid component).
fn find_entry(dir: &File, name: &str) -> io::Result<Option<String>> {
    if validate_component(name).is_err() {
        return Ok(None);
    }
    match FileMeta::at(dir, name) {
        Ok(_) => Ok(Some(name.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => super::case::find_folded(dir, name),
        Err(e) => Err(e),
    }
}

fn stat_entry(root: &DiskRoot, dir: &File, dir_path: &RelPath, name: &str) -> Option<DirEntryInfo> {
    let meta = match name {
        "." => FileMeta::of(dir, name).ok()?,
        ".." => {
            let parent = dir_path.parent().unwrap_or_default();
            let fd = open_beneath(root.fd(), &parent, OFlags::PATH, Mode::empty()).ok()?;
            FileMeta::of(&fd, name).ok()?
        }
        _ => {
            let m = FileMeta::at(dir, name).ok()?;
            if m.is_symlink() {
                // Follow it only beneath the share root; a link out of the share is not listed.
                let target = dir_path.join(name).ok()?;
                let fd = open_beneath(root.fd(), &target, OFlags::PATH, Mode::empty()).ok()?;
                FileMeta::of(&fd, name).ok()?
            } else {
                m
            }
        }
    };
    (meta.is_dir || meta.is_file).then(|| DirEntryInfo {
        name: name.to_owned(),
        meta,
    })
}
