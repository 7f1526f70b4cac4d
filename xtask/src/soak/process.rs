//! The release `dps-emulator` under test: started on fixed ports (so clients keep their
//! endpoints across restarts), killed with SIGKILL, restarted on the same data folder, and
//! measured through /proc.

use crate::bench::worker::{EmulatorInfo, read_info};
use anyhow::{Context, bail};
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a (re)start may take.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The emulator's resident memory and open descriptors.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Footprint {
    /// VmRSS, MiB.
    pub(super) rss_mib: f64,
    /// Entries of /proc/PID/fd.
    pub(super) fds: usize,
}

/// The emulator process and how to start it again.
pub(super) struct Emulator {
    exe: PathBuf,
    data_dir: PathBuf,
    root_ca: PathBuf,
    listen: SocketAddr,
    mqtt: SocketAddr,
    child: Option<Child>,
    /// Every incarnation's stderr, appended.
    pub(super) log: PathBuf,
    info: Option<EmulatorInfo>,
}

impl Emulator {
    /// Starts `exe` on free loopback ports with `data_dir`, `root_ca` registered as a verified
    /// CA named `soak-root`.
    pub(super) fn start(exe: &Path, data_dir: &Path, root_ca: &Path) -> anyhow::Result<Self> {
        let free = || -> anyhow::Result<SocketAddr> {
            Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
        };
        let (listen, mqtt) = (free()?, free()?);
        let mut emulator = Self {
            exe: exe.to_owned(),
            data_dir: data_dir.to_owned(),
            root_ca: root_ca.to_owned(),
            listen,
            mqtt,
            child: None,
            log: data_dir.with_extension("log"),
            info: None,
        };
        emulator.spawn()?;
        Ok(emulator)
    }

    /// What the running emulator published in `emulator.json`.
    pub(super) fn info(&self) -> anyhow::Result<&EmulatorInfo> {
        self.info.as_ref().context("the emulator has not started")
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let info_path = self.data_dir.join(dps_emulator::EMULATOR_JSON);
        let _ = fs::remove_file(&info_path);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut ca = std::ffi::OsString::from("soak-root=");
        ca.push(&self.root_ca);
        let mut child = Command::new(&self.exe)
            .args(["--listen", &self.listen.to_string()])
            .args(["--mqtt-listen", &self.mqtt.to_string()])
            .args([
                "--console-listen",
                "off",
                "--retry-after",
                "0",
                "--pending-polls",
                "0",
            ])
            .arg("--ca-certificate")
            .arg(ca)
            .arg("--data-dir")
            .arg(&self.data_dir)
            // Every request's line (method, path, status), HTTPS and MQTT alike: the soak counts
            // the 5xx the emulator sent from them, including any a client retried away.
            .env("RUST_LOG", "warn,dps_emulator=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        let started = Instant::now();
        let info = loop {
            if let Some(status) = child.try_wait()? {
                let log = fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                bail!(
                    "dps-emulator exited during startup ({status}); the end of {}:\n{}",
                    self.log.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            if let Ok(info) = read_info(&info_path)
                && TcpStream::connect(self.listen).is_ok()
            {
                break info;
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                bail!("dps-emulator was not ready within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.child = Some(child);
        self.info = Some(info);
        Ok(())
    }

    /// SIGKILL, as a crash or the OOM killer would, then a start on the same folder and ports.
    pub(super) fn kill_and_restart(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("killing the emulator")?;
            child.wait()?;
        }
        // The ports were just released; a start retries briefly if one is still taken.
        let mut tries = 0;
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if tries < 20 => {
                    tries += 1;
                    eprintln!("soak: restart attempt {tries} failed: {e:#}");
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The running process's footprint.
    pub(super) fn footprint(&self) -> anyhow::Result<Footprint> {
        let pid = self
            .child
            .as_ref()
            .context("the emulator is not running")?
            .id();
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        let rss_kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmRSS in /proc/PID/status")?;
        let fds = fs::read_dir(format!("/proc/{pid}/fd"))?.count();
        Ok(Footprint {
            rss_mib: rss_kib / 1024.0,
            fds,
        })
    }

    /// The request lines of every incarnation whose status was a 5xx (none expected).
    pub(super) fn logged_5xx(&self) -> anyhow::Result<Vec<String>> {
        let log = fs::read_to_string(&self.log)
            .with_context(|| format!("reading {}", self.log.display()))?;
        Ok(log
            .lines()
            .filter(|l| l.split_whitespace().any(|w| w.starts_with("status=5")))
            .map(str::to_owned)
            .collect())
    }

    /// The request lines logged by every incarnation.
    pub(super) fn logged_requests(&self) -> usize {
        fs::read_to_string(&self.log)
            .map(|log| log.lines().filter(|l| l.contains(" status=")).count())
            .unwrap_or(0)
    }

    /// The device listener, for the raw-socket faults.
    pub(super) fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// Stops the emulator with SIGTERM, as a user would, and waits for it.
    pub(super) fn stop(mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    child.kill()?;
                    bail!("dps-emulator did not stop within 15 s of SIGTERM");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
