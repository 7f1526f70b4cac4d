//! `dps-cli`: Azure IoT Hub Device Provisioning Service tooling from one command.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 usage error.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = dps_cli::cli::parse();
    dps_cli::cli::init_tracing(cli.global.verbose);
    let result = dps_cli::cli::run(cli);
    if let Err(e) = &result {
        // `dps-cli ... | head`: the reader has what it wanted.
        if dps_cli::output::is_broken_pipe(e) {
            return ExitCode::SUCCESS;
        }
        dps_cli::report(e);
    }
    ExitCode::from(dps_cli::exit_code(&result))
}
