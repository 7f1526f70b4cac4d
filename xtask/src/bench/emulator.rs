//! The release `dps-emulator` binary as a subprocess: started on a free port, ready when
//! `emulator.json` is written and the port accepts connections, measured through /proc, and
//! stopped with SIGTERM like a user would.

use super::worker::{EmulatorInfo, read_info};
use anyhow::{Context, bail};
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start may take before the bench gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `dps-emulator`. Dropping it kills the process.
#[derive(Debug)]
pub(crate) struct EmulatorProcess {
    child: Child,
    log: PathBuf,
    /// Where `emulator.json` is.
    pub(crate) info_path: PathBuf,
    pub(crate) info: EmulatorInfo,
    /// From spawn until `emulator.json` existed and the port accepted a connection.
    pub(crate) startup: Duration,
}

/// Resident and peak resident memory of a process, megabytes (MiB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Memory {
    pub(crate) rss_mb: f64,
    pub(crate) peak_mb: f64,
}

impl EmulatorProcess {
    /// Starts `exe` on `data_dir` (persistent unless `in_memory`), with Retry-After and
    /// pending polls 0; its log goes to `data_dir/../NAME.log`.
    pub(crate) fn start(exe: &Path, data_dir: &Path, in_memory: bool) -> anyhow::Result<Self> {
        fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let info_path = data_dir.join(dps_emulator::EMULATOR_JSON);
        // Its appearance is the readiness signal.
        let _ = fs::remove_file(&info_path);
        let log = data_dir.with_extension("log");
        let log_file =
            fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(exe);
        cmd.args([
            "--listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "127.0.0.1:0",
            "--console-listen",
            "127.0.0.1:0",
            "--retry-after",
            "0",
            "--pending-polls",
            "0",
        ])
        .arg("--data-dir")
        .arg(data_dir);
        if in_memory {
            cmd.arg("--in-memory");
        }
        let start = Instant::now();
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let info = loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "dps-emulator exited during startup ({status}):\n{}",
                    fs::read_to_string(&log).unwrap_or_default().trim_end()
                );
            }
            if let Ok(info) = read_info(&info_path)
                && TcpStream::connect(("127.0.0.1", info.port)).is_ok()
            {
                break info;
            }
            if start.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                bail!("dps-emulator was not ready after {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        Ok(Self {
            startup: start.elapsed(),
            child,
            log,
            info_path,
            info,
        })
    }

    /// VmRSS and VmHWM from /proc (Linux only).
    pub(crate) fn memory(&self) -> anyhow::Result<Memory> {
        let path = format!("/proc/{}/status", self.child.id());
        let text = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        parse_status(&text).with_context(|| format!("no VmRSS/VmHWM in {path}"))
    }

    /// SIGTERM, then waits (up to 10 s, then SIGKILL).
    pub(crate) fn stop(mut self) -> anyhow::Result<()> {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if let Some(status) = self.child.try_wait()? {
                    if !status.success() {
                        bail!(
                            "dps-emulator stopped with {status}:\n{}",
                            fs::read_to_string(&self.log).unwrap_or_default().trim_end()
                        );
                    }
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// VmRSS and VmHWM of a /proc/PID/status text, in MiB.
pub(crate) fn parse_status(text: &str) -> Option<Memory> {
    let kb = |field: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(field))?;
        let value = line[field.len()..].trim().strip_suffix("kB")?.trim();
        value.parse::<u64>().ok().map(|k| k as f64 / 1024.0)
    };
    Some(Memory {
        rss_mb: kb("VmRSS:")?,
        peak_mb: kb("VmHWM:")?,
    })
}

/// Bytes of the files directly in `dir` whose name starts with `prefix` (state.db, -wal, -shm).
pub(crate) fn files_size(dir: &Path, prefix: &str) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_mib() {
        let text = "Name:\tdps-emulator\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t4\n";
        assert_eq!(
            parse_status(text),
            Some(Memory {
                rss_mb: 40.0,
                peak_mb: 50.0
            })
        );
        assert_eq!(parse_status("Name:\tx\nVmRSS:\t12 kB\n"), None);
        assert_eq!(parse_status("VmRSS:\tlots kB\nVmHWM:\t1 kB\n"), None);
    }

    #[test]
    fn this_process_has_a_status() {
        if cfg!(target_os = "linux") {
            let text = fs::read_to_string("/proc/self/status").unwrap_or_default();
            let m = parse_status(&text).unwrap_or_else(|| panic!("{text}"));
            assert!(m.rss_mb > 0.0 && m.peak_mb >= m.rss_mb, "{m:?}");
        }
    }
}
