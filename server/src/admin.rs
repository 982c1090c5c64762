//! The administration subcommands: `rsmbd keytab list|check`, `rsmbd config check` and
//! `rsmbd sessions`. Each prints lines an administrator reads and returns the exit status
//! (0 fine, 1 a problem was found); none of them touches the network.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{ConfigCommand, KeytabCommand, SessionsArgs, read_config};
use crate::config::Config;
use crate::keytab_check;
use crate::startup::load_keytab;
use crate::status::{StatusSnapshot, fmt_utc, table, unix_now};

/// Runs `rsmbd keytab ...`; returns the exit status.
pub fn keytab(cmd: KeytabCommand, out: &mut dyn Write) -> anyhow::Result<i32> {
    match cmd {
        KeytabCommand::List { keytab, config } => {
            let path = match (keytab, config) {
                (Some(k), _) => k,
                (None, Some(c)) => read_config(&c)?
                    .keytab
                    .with_context(|| format!("{} sets no keytab", c.display()))?,
                (None, None) => anyhow::bail!("give --keytab FILE or --config FILE"),
            };
            let kt = load_keytab(&path)?;
            writeln!(
                out,
                "keytab {}: {} entries",
                path.display(),
                kt.entries().len()
            )?;
            for line in keytab_check::list(&kt) {
                writeln!(out, "{line}")?;
            }
            Ok(0)
        }
        KeytabCommand::Check { hosts_file, serve } => {
            let config = serve.into_config()?;
            let hosts = std::fs::read_to_string(&hosts_file).unwrap_or_default();
            let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
            let (names, short) =
                keytab_check::served_names(&config, &hosts, hostname.as_deref().map(str::trim));
            let path = config.keytab.clone().context("no keytab configured")?;
            let kt = load_keytab(&path)?;
            let path_text = path.display().to_string();
            writeln!(
                out,
                "keytab {path_text}: {} entries; names served: {}",
                kt.entries().len(),
                if names.is_empty() {
                    "none found".to_string()
                } else {
                    names
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )?;
            let findings = keytab_check::check(
                &kt,
                &path_text,
                &names,
                &short,
                &config.kerberos_enctypes()?,
            );
            for f in &findings {
                writeln!(out, "{f}")?;
            }
            let problem = keytab_check::has_problem(&findings);
            writeln!(
                out,
                "{}",
                if problem {
                    "keytab check: problems found (lines marked WARN/ERROR)"
                } else {
                    "keytab check: ok"
                }
            )?;
            Ok(i32::from(problem))
        }
    }
}

/// Runs `rsmbd config check`; returns the exit status.
pub fn config(cmd: ConfigCommand, out: &mut dyn Write) -> anyhow::Result<i32> {
    let ConfigCommand::Check(args) = cmd;
    let config = match args.into_config() {
        Ok(c) => c,
        Err(e) => {
            writeln!(out, "ERROR config: {e:#}")?;
            return Ok(1);
        }
    };
    let errors = config_problems(&config);
    for line in summary(&config) {
        writeln!(out, "{line}")?;
    }
    for e in &errors {
        writeln!(out, "ERROR {e}")?;
    }
    writeln!(
        out,
        "{}",
        if errors.is_empty() {
            "config check: ok"
        } else {
            "config check: errors found"
        }
    )?;
    Ok(i32::from(!errors.is_empty()))
}

/// What `validate` cannot see: files and directories the config names.
fn config_problems(config: &Config) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(k) = &config.keytab {
        match load_keytab(k) {
            Ok(kt) if kt.entries().is_empty() => {
                errors.push(format!("keytab {}: empty", k.display()))
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    for s in &config.shares {
        if !s.path.is_dir() {
            errors.push(format!(
                "share {}: {} is not a directory",
                s.name,
                s.path.display()
            ));
        }
    }
    for (key, file) in [
        ("status_file", &config.status_file),
        ("key_log", &config.key_log),
    ] {
        if let Some(f) = file
            && !parent_dir(f).is_dir()
        {
            errors.push(format!(
                "{key} {}: directory {} does not exist",
                f.display(),
                parent_dir(f).display()
            ));
        }
    }
    errors
}

fn parent_dir(f: &Path) -> PathBuf {
    match f.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The effective configuration, one key per line.
fn summary(c: &Config) -> Vec<String> {
    let opt = |p: &Option<PathBuf>| {
        p.as_ref()
            .map_or("-".to_string(), |p| p.display().to_string())
    };
    let mut out = vec![
        format!(
            "listen             {}",
            c.listen
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("keytab             {}", opt(&c.keytab)),
        format!("keytab_poll_secs   {}", c.keytab_poll_secs),
        format!("server_name        {}", c.server_name),
        format!(
            "enctypes           {}",
            c.kerberos_enctypes()
                .map(|e| e.iter().map(|e| e.name()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        ),
        format!("allow_rc4          {}", c.allow_rc4),
        format!("max_skew_secs      {}", c.max_skew_secs),
        format!("dialects           {} .. {}", c.min_dialect, c.max_dialect),
        format!("require_signing    {}", c.require_signing),
        format!("signing_algorithms {}", c.signing_algorithms.join(", ")),
        format!("encrypt            {}", c.encrypt),
        format!("encryption_ciphers {}", c.encryption_ciphers.join(", ")),
        format!("reject_unencrypted {}", c.reject_unencrypted),
        format!("max_io_size        {}", c.max_io_size),
        format!("max_credits        {}", c.max_credits),
        format!("status_file        {}", opt(&c.status_file)),
        format!("key_log            {}", opt(&c.key_log)),
    ];
    for s in &c.shares {
        out.push(format!(
            "share {} -> {}{}{}{}",
            s.name,
            s.path.display(),
            if s.read_only { " read-only" } else { "" },
            if s.encrypt_data { " encrypt_data" } else { "" },
            s.valid_users
                .as_ref()
                .map_or(String::new(), |u| format!(" valid_users={}", u.join(",")))
        ));
    }
    out
}

/// Runs `rsmbd sessions`; returns the exit status.
pub fn sessions(args: SessionsArgs, out: &mut dyn Write) -> anyhow::Result<i32> {
    let path = match (args.status_file, args.config) {
        (Some(f), _) => f,
        (None, Some(c)) => read_config(&c)?.status_file.with_context(|| {
            format!(
                "{} sets no status_file (the server writes none)",
                c.display()
            )
        })?,
        (None, None) => anyhow::bail!("give --status-file FILE or --config FILE"),
    };
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "cannot read {} (is the server running with status_file set?)",
            path.display()
        )
    })?;
    let snap: StatusSnapshot = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not an rsmbd status file", path.display()))?;
    if args.json {
        writeln!(out, "{}", String::from_utf8_lossy(&text))?;
    } else {
        for line in table(&snap, unix_now()) {
            writeln!(out, "{line}")?;
        }
    }
    if unix_now().saturating_sub(snap.written) > 86_400 {
        writeln!(
            out,
            "note: written {}; the server may not be running",
            fmt_utc(snap.written)
        )?;
    }
    Ok(0)
}
