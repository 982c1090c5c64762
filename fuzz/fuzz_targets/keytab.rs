//! Fuzz target `keytab`: see `rsmbd_tests::fuzzing::keytab` for the oracle (the corpus replay test
//! `tests/tests/fuzz_corpus.rs` runs the same function under `cargo test`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rsmbd_tests::fuzzing::keytab(data));
