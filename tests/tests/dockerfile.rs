//! The Dockerfile cannot be built in CI (no Docker engine runs on these machines), so this
//! checks what can be checked without one: every path it copies exists, the package it builds
//! is the one that produces the `rsmbd` binary, and its command is one the binary accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn dockerfile_copies_existing_paths_and_builds_the_rsmbd_binary() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let stages = text.lines().filter(|l| l.starts_with("FROM ")).count();
    assert_eq!(
        stages, 2,
        "multi-stage: a build stage and a slim runtime stage"
    );

    let mut copies = 0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        for src in &words[1..words.len() - 1] {
            assert!(
                repo().join(src).exists(),
                "Dockerfile copies {src}, which is not in the repository"
            );
            copies += 1;
        }
    }
    assert!(
        copies >= 6,
        "the workspace manifest, lock file and every crate are copied"
    );

    // The build stage builds the package whose binary is `rsmbd`, and the runtime stage copies
    // exactly that binary out of target/release.
    let server_manifest = std::fs::read_to_string(repo().join("server/Cargo.toml")).unwrap();
    assert!(server_manifest.contains("name = \"rsmbd\""));
    assert!(text.contains("cargo build --release --locked -p rsmbd"));
    assert!(text.contains("COPY --from=build /src/target/release/rsmbd /usr/local/bin/rsmbd"));

    // Every member of the workspace is copied into the build stage, or `cargo build` fails.
    let workspace = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    for member in ["protocol", "auth", "share", "server", "tests"] {
        assert!(workspace.contains(&format!("\"{member}\"")));
        assert!(
            text.contains(&format!("COPY {member} {member}")),
            "Dockerfile copies {member}/"
        );
    }
}

#[test]
fn dockerfile_command_is_accepted_by_the_cli() {
    use clap::Parser;
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let cmd = text.lines().find(|l| l.starts_with("CMD ")).unwrap();
    let args: Vec<String> = cmd
        .trim_start_matches("CMD ")
        .trim_matches(['[', ']'])
        .split(',')
        .map(|a| a.trim().trim_matches('"').to_string())
        .collect();
    let argv = std::iter::once("rsmbd".to_string()).chain(args);
    rsmbd::cli::Cli::try_parse_from(argv).expect("the image's CMD parses");
}
