//! The completion scripts, loaded in the real shells and asked for what `<TAB>` offers below the
//! top level: `dps-cli certs <TAB>`, `dps-cli enrollment-group <TAB>` and a flag's values.
//!
//! A shell that is not installed is skipped with a message on stderr (`cargo test -- --nocapture`
//! shows it); under CI (`CI` set), where `.ci/run` installs bash, zsh and fish, a missing shell
//! fails the test instead.

use std::path::Path;
use std::process::Command;

/// What each case types and what must be offered.
const CASES: &[(&str, &[&str])] = &[
    (
        "dps-cli certs ",
        &[
            "create-root-and-intermediate",
            "create-verification-certificate",
            "inspect",
        ],
    ),
    ("dps-cli enrollment-group ", &["create", "registrations"]),
    ("dps-cli certificate ", &["prove", "verify"]),
    (
        "dps-cli certs create-root-and-intermediate --algorithm ",
        &["ecdsa-p256", "rsa-4096"],
    ),
    (
        "dps-cli enrollment-group list --output ",
        &["json", "table"],
    ),
    // certGen.sh's spelling, which the README uses.
    (
        "dps-cli certs create_root_and_intermediate --algorithm ",
        &["ecdsa-p256", "rsa-2048"],
    ),
];

fn script(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dps-cli"))
        .args(["completions", shell])
        .output()
        .expect("run dps-cli completions");
    assert!(out.status.success(), "completions {shell} failed");
    String::from_utf8(out.stdout).expect("utf-8 script")
}

/// True when `shell` runs; otherwise reports the skip (or fails under CI).
fn available(shell: &str) -> bool {
    let found = Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{shell} is not installed, and CI must test its completions (.ci/run installs it)"
        );
        eprintln!("SKIPPED: {shell} is not installed; its completion script was not tested");
    }
    found
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.split('\t').next().unwrap_or(w).to_owned())
        .collect()
}

fn check(shell: &str, line: &str, offered: &[String], expected: &[&str]) {
    for want in expected {
        assert!(
            offered.iter().any(|o| o == want),
            "{shell}: `{line}<TAB>` should offer {want:?}; it offered {offered:?}"
        );
    }
}

#[test]
fn bash_completes_below_the_top_level() {
    if !available("bash") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dps-cli.bash");
    std::fs::write(&path, script("bash")).expect("write script");
    for (line, expected) in CASES {
        // What bash's programmable completion does on <TAB>: split the line into COMP_WORDS
        // (the last word empty) and call the function `complete -F` registered.
        let probe = format!(
            "source {script}\n\
             COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n\
             read -r -a COMP_WORDS <<< \"$COMP_LINE\"; COMP_WORDS+=('')\n\
             COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
             fn=$(complete -p dps-cli | sed -E 's/.*-F ([^ ]+).*/\\1/')\n\
             \"$fn\" dps-cli '' \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script = path.display()
        );
        let out = Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &probe])
            .output()
            .expect("run bash");
        assert!(
            out.status.success(),
            "bash: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        check(
            "bash",
            line,
            &words(&String::from_utf8_lossy(&out.stdout)),
            expected,
        );
    }
}

#[test]
fn fish_completes_below_the_top_level() {
    if !available("fish") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dps-cli.fish");
    std::fs::write(&path, script("fish")).expect("write script");
    for (line, expected) in CASES {
        let probe = format!("source {}; complete -C '{line}'", path.display());
        let out = Command::new("fish")
            .args(["--no-config", "-c", &probe])
            .output()
            .expect("run fish");
        assert!(
            out.status.success(),
            "fish: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let offered: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split('\t').next())
            .map(str::to_owned)
            .collect();
        check("fish", line, &offered, expected);
    }
}

/// zsh's completion system runs only inside its line editor, so this starts an interactive
/// zsh on a pseudo-terminal (zsh's own `zpty`), types the line and a TAB, and records what the
/// completion function hands to `compadd`.
const ZSH_SETUP: &str = r#"PS1='' ; RPROMPT=''
fpath=($CAPDIR $fpath)
autoload -U compinit && compinit -u -D
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a found
  builtin compadd -A found "$@"
  print -l -- $found >> $CAPOUT
  builtin compadd "$@"
}
bindkey '^I' complete-word
"#;

const ZSH_DRIVER: &str = r#"zmodload zsh/zpty
: > $CAPOUT
zpty z 'zsh -f -i'
zpty -w z "source $CAPDIR/setup.zsh"
zpty -w -n z "$LINE"$'\t'
for i in {1..100}; do [[ -s $CAPOUT ]] && break; sleep 0.1; done
sleep 0.3
zpty -d z
"#;

#[test]
fn zsh_completes_below_the_top_level() {
    if !available("zsh") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d: &Path = dir.path();
    std::fs::write(d.join("_dps-cli"), script("zsh")).expect("write script");
    std::fs::write(d.join("setup.zsh"), ZSH_SETUP).expect("write setup");
    std::fs::write(d.join("driver.zsh"), ZSH_DRIVER).expect("write driver");
    let captured = d.join("offered");
    for (line, expected) in CASES {
        let out = Command::new("zsh")
            .arg("-f")
            .arg(d.join("driver.zsh"))
            .env("CAPDIR", d)
            .env("CAPOUT", &captured)
            .env("LINE", line)
            .output()
            .expect("run zsh");
        assert!(
            out.status.success(),
            "zsh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let offered = std::fs::read_to_string(&captured).unwrap_or_default();
        check("zsh", line, &words(&offered), expected);
    }
}
