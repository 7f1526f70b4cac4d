//! Feedback while the user waits, the one progress mechanism of dps-cli: a [`Spinner`] (a
//! status line) for one long step such as a registration or a proof of possession, and a
//! [`Progress`] bar for batches (certificates, enrollment imports).
//!
//! Both draw on stderr, only when stderr is a terminal, so piped output, scripts, CI and the
//! tests (which run the binary without a terminal) see nothing of them: no `\r`, no escape
//! sequences. They also stay hidden once [`suppress`] was called, because a log written to the
//! same stderr (`--verbose`) would be torn by the redraws. Both are cleared when dropped, so
//! the result or error printed next stands alone.

use indicatif::{ProgressBar, ProgressStyle};
use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The spinner's line: spinner, message, time so far.
const SPINNER_TEMPLATE: &str = "{spinner} {msg} ({elapsed})";
/// The batch bar's line: bar, `done/total`, what is counted, time so far and left.
const BAR_TEMPLATE: &str = "{bar:30} {pos}/{len} {msg} ({elapsed}, ~{eta} left)";
/// How often the spinner turns.
const TICK: Duration = Duration::from_millis(100);

static SUPPRESSED: AtomicBool = AtomicBool::new(false);

/// Hides every spinner and progress bar made after this call: something else (the `--verbose`
/// log) writes to stderr, and redrawing lines would tear it.
pub fn suppress() {
    SUPPRESSED.store(true, Ordering::Relaxed);
}

/// Whether feedback is drawn: stderr is a terminal and nothing [`suppress`]ed it.
fn visible() -> bool {
    !SUPPRESSED.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

fn style(template: &str) -> Option<ProgressStyle> {
    ProgressStyle::with_template(template).ok()
}

/// A status line with a turning spinner on stderr, such as "registering dev1 with
/// https://...": drawn only on a terminal, cleared when dropped or [`Spinner::finish`]ed.
#[derive(Debug)]
pub struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    /// Starts a spinner showing `message` (hidden unless stderr is a terminal).
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self::with_visibility(message, visible())
    }

    fn with_visibility(message: impl Into<Cow<'static, str>>, visible: bool) -> Self {
        let bar = if visible {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        if let Some(style) = style(SPINNER_TEMPLATE) {
            bar.set_style(style);
        }
        bar.set_message(message);
        if visible {
            bar.enable_steady_tick(TICK);
        }
        Self { bar }
    }

    /// Replaces the message, e.g. with the next step.
    pub fn set_message(&self, message: impl Into<Cow<'static, str>>) {
        self.bar.set_message(message);
    }

    /// Removes the line, before the result is printed.
    pub fn finish(self) {
        drop(self);
    }

    /// Whether this spinner draws nothing.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A progress bar on stderr for a batch: "[####    ] 3/10 device certificates". Drawn only on
/// a terminal and for more than one item; cleared when the batch is done or the bar dropped.
///
/// It is `Sync`, so a batch that works on several threads can report through a shared
/// reference (dps-certgen's progress callback).
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` items, labelled `label` ("device certificates"); hidden unless
    /// stderr is a terminal and `total > 1`.
    pub fn new(label: &str, total: usize) -> Self {
        Self::with_visibility(label, total, total > 1 && visible())
    }

    fn with_visibility(label: &str, total: usize, visible: bool) -> Self {
        let bar = if visible {
            ProgressBar::new(total as u64)
        } else {
            ProgressBar::hidden()
        };
        if let Some(style) = style(BAR_TEMPLATE) {
            bar.set_style(style);
        }
        bar.set_message(label.to_owned());
        bar.set_length(total as u64);
        Self { bar }
    }

    /// Reports `done` of `total`; the bar is cleared once `done == total`. Reports from
    /// several threads may arrive out of order: the bar never moves back.
    pub fn update(&self, done: usize, total: usize) {
        let (done, total) = (done as u64, total as u64);
        if self.bar.length() != Some(total) {
            self.bar.set_length(total);
        }
        if done > self.bar.position() {
            self.bar.set_position(done);
        }
        if done >= total {
            self.bar.finish_and_clear();
        }
    }

    /// Whether this bar draws nothing.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// How many items are reported done.
    pub fn position(&self) -> u64 {
        self.bar.position()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_parse() {
        assert!(style(SPINNER_TEMPLATE).is_some());
        assert!(style(BAR_TEMPLATE).is_some());
    }

    #[test]
    fn hidden_feedback_draws_nothing_but_keeps_count() {
        let spinner = Spinner::with_visibility("registering dev1", false);
        assert!(spinner.is_hidden());
        spinner.set_message("verifying");
        spinner.finish();

        let bar = Progress::with_visibility("device certificates", 3, false);
        assert!(bar.is_hidden());
        bar.update(2, 3);
        bar.update(1, 3);
        assert_eq!(
            bar.position(),
            2,
            "a late report does not move the bar back"
        );
        bar.update(3, 3);
        assert_eq!(bar.position(), 3);
    }

    #[test]
    fn a_single_item_or_a_pipe_gets_no_bar() {
        // `cargo test` may run on a terminal; one item is hidden whatever stderr is.
        assert!(Progress::new("device certificates", 1).is_hidden());
        suppress();
        assert!(Progress::new("device certificates", 10).is_hidden());
        assert!(Spinner::new("registering").is_hidden());
    }
}
