//! Typed errors: [`LoadError`] (the files) and [`PlanError`] (reading the live service).
//! Neither ever holds a secret's value.

use std::path::PathBuf;

/// Why the files could not be read into a desired state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A directory holds no `*.yaml`, `*.yml` or `*.json` file.
    #[error("{}: no *.yaml, *.yml or *.json file in this directory", path.display())]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The file is not valid YAML or JSON, or does not follow the schema (a misspelt field,
    /// an unknown value, an inline secret).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when the parser gave none).
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// A declaration breaks a rule the schema cannot express.
    #[error("{}: {item}: {field}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The declaration, e.g. `enrollments[dev1]`.
        item: String,
        /// The field, e.g. `attestation.x509`.
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The same id is declared twice (ids compare without case, as the service does).
    #[error("{kind} {id:?} is declared twice: in {} and in {}", first.display(), second.display())]
    Duplicate {
        /// `certificate`, `enrollment group` or `enrollment`.
        kind: &'static str,
        /// The id.
        id: String,
        /// The first declaration's file.
        first: PathBuf,
        /// The second declaration's file.
        second: PathBuf,
    },
    /// A secret's variable is not set.
    #[error(
        "{}: {item}: {field}: the variable {name} is not set (export it, or pass --env-file)",
        path.display()
    )]
    MissingVariable {
        /// The file.
        path: PathBuf,
        /// The declaration.
        item: String,
        /// The field.
        field: String,
        /// The variable.
        name: String,
    },
    /// A certificate, key or secret file could not be used.
    #[error("{}: {item}: {field}: {}: {reason}", path.display(), file.display())]
    Material {
        /// The declaring file.
        path: PathBuf,
        /// The declaration.
        item: String,
        /// The field.
        field: String,
        /// The certificate, key or secret file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Why the live state could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A service call failed.
    #[error("reading {what} from the service: {source}")]
    Service {
        /// What was being read, e.g. `enrollment groups`.
        what: &'static str,
        /// The service's error.
        source: dps_service_client::Error,
    },
    /// The files declare CA certificates, but no certificate API was given (on Azure it is
    /// Resource Manager, which needs its own token and resource names).
    #[error("the files declare CA certificates, but there is no certificate API to read them")]
    NoCertificateApi,
    /// `prune` with files that declare nothing: every record would be deleted.
    #[error(
        "the files declare nothing, so --prune would delete every record of the DPS: check the \
         paths (an empty file, or one with only `$schema`, declares nothing)"
    )]
    NothingDeclared,
}
