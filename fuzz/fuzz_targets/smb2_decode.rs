//! Fuzz target `smb2_decode`: see `rsmbd_tests::fuzzing::smb2_decode` for the oracle (the corpus replay test
//! `tests/tests/fuzz_corpus.rs` runs the same function under `cargo test`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rsmbd_tests::fuzzing::smb2_decode(data));
