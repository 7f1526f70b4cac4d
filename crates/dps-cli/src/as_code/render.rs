//! How plans, apply reports and exports look for people: one line per record with its
//! changed fields, coloured on a terminal (`NO_COLOR` and pipes get none).

use dps_as_code::apply::Report;
use dps_as_code::export::Export;
use dps_as_code::{Action, Plan, PlanItem};
use std::fmt::Write as _;

/// Unchanged or undeclared records beyond this many are counted, not listed.
const LIST_AT_MOST: usize = 20;

fn mark(action: Action) -> console::StyledObject<&'static str> {
    let s = |t| console::style(t).for_stdout();
    match action {
        Action::Create => s("+ create").green(),
        Action::Update => s("~ update").yellow(),
        Action::Delete => s("- delete").red(),
        Action::Unchanged => s("= unchanged").dim(),
        Action::NotDeclared => s("? not declared").dim(),
    }
}

fn header(out: &mut String, item: &PlanItem) {
    let _ = write!(
        out,
        "{} {} {:?}",
        mark(item.action),
        item.kind.noun(),
        item.id
    );
    if let Some(source) = &item.source {
        let _ = write!(out, " ({})", source.display());
    }
    out.push('\n');
}

fn value(v: Option<&serde_json::Value>) -> String {
    v.map_or_else(|| "(none)".to_owned(), |v| v.to_string())
}

/// The plan: one block per record, then the summary line.
pub(super) fn plan(plan: &Plan, show_unchanged: bool) -> String {
    let mut out = String::new();
    for action in [Action::Create, Action::Update, Action::Delete] {
        for item in plan.items.iter().filter(|i| i.action == action) {
            header(&mut out, item);
            if action == Action::Update {
                for c in &item.changes {
                    let change = if c.secret {
                        "(secret: changes; the values are not shown)".to_owned()
                    } else {
                        format!("{} -> {}", value(c.from.as_ref()), value(c.to.as_ref()))
                    };
                    let _ = writeln!(out, "    {}: {change}", c.field);
                }
            }
            for w in &item.warnings {
                let _ = writeln!(
                    out,
                    "    {} {w}",
                    console::style("warning:").for_stdout().yellow()
                );
            }
            if let Some(p) = &item.problem {
                let _ = writeln!(
                    out,
                    "    {} {p}",
                    console::style("cannot apply:").for_stdout().red()
                );
            }
        }
    }
    for (action, flag) in [
        (Action::Unchanged, "--show-unchanged"),
        (Action::NotDeclared, "--show-unchanged"),
    ] {
        let items: Vec<&PlanItem> = plan.items.iter().filter(|i| i.action == action).collect();
        if items.len() <= LIST_AT_MOST || show_unchanged {
            for item in items {
                header(&mut out, item);
            }
        } else {
            let what = match action {
                Action::Unchanged => "records unchanged",
                _ => "records on the service not in the files",
            };
            let _ = writeln!(
                out,
                "{} {} {what} ({flag} lists them)",
                mark(action),
                items.len()
            );
        }
    }
    let _ = writeln!(out, "\nPlan: {}.", plan.summary_line());
    out
}

/// The apply report: failures one per line, then the totals.
pub(super) fn report(report: &Report) -> String {
    let mut out = String::new();
    for o in report.outcomes.iter().filter(|o| !o.ok) {
        let _ = writeln!(
            out,
            "{} {} {} {:?}: {}",
            console::style("failed:").for_stdout().red(),
            format!("{:?}", o.action).to_lowercase(),
            o.kind.noun(),
            o.id,
            o.error.as_deref().unwrap_or("failed")
        );
    }
    let failed = report.failed();
    let _ = writeln!(
        out,
        "Applied {} of {} changes{}.",
        report.outcomes.len() - failed,
        report.outcomes.len(),
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    out
}

/// An export as YAML, under a comment saying what its references are.
pub(super) fn yaml(export: &Export) -> anyhow::Result<String> {
    let body = serde_saphyr::to_string(&export.manifest)?;
    let mut out = String::from(
        "# The live DPS as enrollments as code (`dps-cli export --as-code`).\n\
         # Certificates are thumbprint references: the service returns only their info. To\n\
         # create them on another DPS, replace a reference with `file: PATH`.\n\
         # Secrets are ${VARIABLE} references: `--secrets-out FILE` writes their values.\n",
    );
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}
