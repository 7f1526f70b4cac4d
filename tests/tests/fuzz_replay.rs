//! Replays the fuzz inputs in `cargo test`: every file of `fuzz/corpus/<target>/` (the
//! committed seeds, plus what a local `cargo xtask fuzz` found) and of
//! `fuzz/regressions/<target>/` (minimized crash inputs, one per bug found) goes through the
//! target's own body, `fuzz/src/targets.rs`, included here as it is. A regression input fails
//! this test until its bug is fixed, and keeps the bug from coming back.

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/src/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted; none when the folder is absent.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fuzz_dir().join(kind).join(target))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

/// Runs every input of `target`; panics naming each input that fails, with its message.
fn replay(target: &str) {
    let (_, body) = targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("{target} is not in targets::TARGETS"));
    let seeds = inputs("corpus", target);
    assert!(
        !seeds.is_empty(),
        "fuzz/corpus/{target}/ has no seed; a target needs a few"
    );
    let mut failures = Vec::new();
    for path in seeds.iter().chain(&inputs("regressions", target)) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(panic) = std::panic::catch_unwind(|| body(&data)) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} input(s) of {target} fail (reproduce one with `cargo fuzz run --sanitizer none \
         -O -a {target} <input>` in fuzz/):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                replay(stringify!($target));
            }
        )*

        /// Every target has a replay test here, a `fuzz_target!` wrapper and a corpus, and
        /// every corpus or regression folder belongs to a target.
        #[test]
        fn every_target_is_replayed() {
            let mut listed: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
            listed.sort_unstable();
            let mut tested = vec![$(stringify!($target)),*];
            tested.sort_unstable();
            assert_eq!(listed, tested, "targets::TARGETS and this test's list differ");
            let names = |dir: &str, strip: &str| -> Vec<String> {
                let mut v: Vec<String> = std::fs::read_dir(fuzz_dir().join(dir))
                    .map(|d| {
                        d.filter_map(|e| e.ok())
                            .map(|e| e.file_name().to_string_lossy().replace(strip, ""))
                            .collect()
                    })
                    .unwrap_or_default();
                v.sort();
                v
            };
            assert_eq!(names("fuzz_targets", ".rs"), listed, "fuzz/fuzz_targets/");
            assert_eq!(names("corpus", ""), listed, "fuzz/corpus/");
            for folder in names("regressions", "") {
                assert!(listed.contains(&folder.as_str()), "fuzz/regressions/{folder}");
            }
        }
    };
}

replay_tests!(
    connection_string,
    sas_service,
    sas_device,
    registration_id,
    certificate,
    json_models,
    service_answer,
    http_routing,
    mqtt_session,
);
