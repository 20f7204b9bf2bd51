//! `pagelab run`: an experiment step by step, as a person would do it by hand. At each step
//! it prints the mapping's maps line and its smaps record, marks what changed since the
//! previous step, shows which of its pages are resident (one strip of at most 64 cells), and
//! waits for Enter so the reader can look at /proc/PID/smaps themselves.

use crate::experiment::{ExperimentError, Observer, Step, StepReport};
use crate::kernel::{FieldValue, SmapsRecord};
use anstyle::{AnsiColor, Style};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};

const CHANGED: Style = AnsiColor::Yellow.on_default().bold();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

pub struct Walkthrough<'a> {
    out: &'a mut dyn Write,
    /// `None`: do not wait between steps.
    input: Option<&'a mut dyn BufRead>,
    step_number: usize,
    total_steps: usize,
    previous: BTreeMap<&'static str, SmapsRecord>,
}

impl<'a> Walkthrough<'a> {
    pub fn new(
        out: &'a mut dyn Write,
        input: Option<&'a mut dyn BufRead>,
        total_steps: usize,
    ) -> Walkthrough<'a> {
        Walkthrough {
            out,
            input,
            step_number: 0,
            total_steps,
            previous: BTreeMap::new(),
        }
    }
}

impl Observer for Walkthrough<'_> {
    fn observe(&mut self, step: &Step, report: &StepReport) -> Result<(), ExperimentError> {
        self.step_number += 1;
        let out = &mut *self.out;
        writeln!(
            out,
            "\n{BOLD}step {}/{}: {}{BOLD:#} {DIM}({}){DIM:#}",
            self.step_number, self.total_steps, step.title, step.id
        )?;
        let observation = match report {
            StepReport::Observed(observation) => observation,
            StepReport::Impossible(why) => {
                writeln!(out, "\nnot possible here: {why}")?;
                return Ok(());
            }
        };
        for subject in &observation.subjects {
            writeln!(
                out,
                "\n{DIM}/proc/{pid}/smaps, the record of the {name}; its first line is the {name}'s line in /proc/{pid}/maps:{DIM:#}",
                pid = subject.pid,
                name = subject.name,
            )?;
            let before = self.previous.get(subject.name.as_str());
            write_record(out, &subject.record, before)?;
            if let Some(residency) = &subject.residency {
                writeln!(out)?;
                crate::render::write_strip(
                    out,
                    "",
                    &format!("the {}'s pages", subject.name),
                    residency,
                    crate::render::terminal_width(),
                )?;
            }
            self.previous
                .insert(subject.name.as_str(), subject.record.clone());
        }
        for (key, value) in &observation.outcomes {
            writeln!(out, "{}: {value}", key.name)?;
        }
        if let Some(input) = self.input.as_mut() {
            let last = self.step_number == self.total_steps;
            let prompt = if last { "end" } else { "next step" };
            write!(out, "\n{DIM}[Enter: {prompt}, q: quit]{DIM:#} ")?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 || line.trim() == "q" {
                return Err(ExperimentError::Stopped);
            }
        }
        Ok(())
    }
}

/// Prints an smaps record like the kernel does, marking fields that differ from `before`.
pub fn write_record(
    out: &mut dyn Write,
    record: &SmapsRecord,
    before: Option<&SmapsRecord>,
) -> std::io::Result<()> {
    writeln!(out, "{}", record.vma)?;
    for (name, value) in &record.fields {
        let shown = show(value);
        let was = before
            .and_then(|b| b.field_named(name.as_str()))
            .filter(|old| old != value);
        let label = format!("{name}:");
        match was {
            Some(old) => writeln!(
                out,
                "{CHANGED}{label:<16}{shown:>10}{CHANGED:#}   {CHANGED}<-- changed, was {}{CHANGED:#}",
                show(&old)
            )?,
            None => writeln!(out, "{label:<16}{shown:>10}")?,
        }
    }
    if let Some(flags) = &record.vm_flags {
        let old = before
            .and_then(|b| b.vm_flags.as_ref())
            .filter(|f| *f != flags);
        match old {
            Some(old) => writeln!(
                out,
                "{CHANGED}VmFlags: {}{CHANGED:#}   {CHANGED}<-- changed, was {}{CHANGED:#}",
                flags.join(" "),
                old.join(" ")
            )?,
            None => writeln!(out, "VmFlags: {}", flags.join(" "))?,
        }
    }
    Ok(())
}

/// A value as smaps prints it; bare numbers end where the kB numbers end.
fn show(value: &FieldValue) -> String {
    match value {
        FieldValue::Size(size) => format!("{} kB", size.kib()),
        FieldValue::Number(n) => format!("{n}   "),
    }
}
