//! The JSON Schema in the repository is the one generated from the Rust types, and the
//! README's example file follows it (checked by an independent JSON Schema validator and by
//! the Rust types themselves).
//!
//! `UPDATE_SCHEMA=1 cargo test -p dps-as-code --test schema` rewrites the schema file.

use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn generated() -> String {
    let mut text =
        serde_json::to_string_pretty(&dps_as_code::json_schema()).expect("schema serializes");
    text.push('\n');
    text
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = root().join("schema/dps-as-code.schema.json");
    let want = generated();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &want).expect("write the schema");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} differs from the schema the Rust types generate: run \
         `UPDATE_SCHEMA=1 cargo test -p dps-as-code --test schema` and commit the file",
        path.display()
    );
}

/// The README's example: the ```yaml block after `<!-- as-code example -->`.
fn readme_example() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let after = readme
        .split_once("<!-- as-code example -->")
        .expect("the README marks its example with <!-- as-code example -->")
        .1;
    let block = after
        .split_once("```yaml\n")
        .expect("a yaml block follows the marker")
        .1;
    block
        .split_once("\n```")
        .expect("the yaml block ends")
        .0
        .to_owned()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&dps_as_code::json_schema()).expect("the schema compiles")
}

fn as_json(yaml: &str) -> Value {
    serde_saphyr::from_str(yaml).expect("the example is YAML")
}

#[test]
fn the_readme_example_follows_the_schema_and_the_types() {
    let example = readme_example();
    let errors: Vec<String> = validator()
        .iter_errors(&as_json(&example))
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "README example vs schema: {errors:#?}");
    let manifest = dps_as_code::load::parse(Path::new("README.md"), &example)
        .unwrap_or_else(|e| panic!("README example vs the Rust types: {e}"));
    assert!(
        !manifest.certificates.is_empty(),
        "the example shows a CA certificate"
    );
    assert!(
        !manifest.enrollment_groups.is_empty(),
        "the example shows groups"
    );
    assert!(
        !manifest.enrollments.is_empty(),
        "the example shows enrollments"
    );
}

#[test]
fn a_misspelt_field_fails_both_the_schema_and_the_types() {
    let example = readme_example();
    let misspelt = example.replacen("provisioningStatus:", "provisoningStatus:", 1);
    assert_ne!(misspelt, example, "the example sets provisioningStatus");
    assert!(!validator().is_valid(&as_json(&misspelt)));
    let e = dps_as_code::load::parse(Path::new("README.md"), &misspelt)
        .expect_err("a misspelt field is an error");
    assert!(
        e.to_string().contains("unknown field `provisoningStatus`"),
        "{e}"
    );

    // A key written inline instead of `${VARIABLE}` breaks both too.
    let line = example
        .lines()
        .find(|l| l.trim_start().starts_with("primaryKey: ${"))
        .expect("the example reads a key from a variable");
    let key = "primaryKey: c2VjcmV0LWtleS1pbmxpbmU=";
    let inline = example.replacen(line.trim_start(), key, 1);
    assert!(!validator().is_valid(&as_json(&inline)));
    let e = dps_as_code::load::parse(Path::new("README.md"), &inline)
        .expect_err("an inline secret is an error");
    assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
}
