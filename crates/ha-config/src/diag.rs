//! Diagnostics: errors and warnings that name their file and line.

use std::fmt;

/// How serious a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The configuration is refused.
    Error,
    /// Accepted, but probably not what was meant, or a fact about this machine.
    Warning,
}

/// One finding about a configuration file: `ha.cf:12: unknown directive 'frobnicate'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
    pub severity: Severity,
}

impl Diagnostic {
    pub fn error(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line,
            message: message.into(),
            severity: Severity::Error,
        }
    }
    pub fn warning(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line,
            message: message.into(),
            severity: Severity::Warning,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The same finding with another severity (the config test reports the facts about
    /// the machine as warnings where the daemon refuses to start).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every error found in a configuration (never only the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Orders diagnostics as an administrator reads them: ha.cf, haresources, authkeys, then
/// other files; within a file the findings about the whole file first, then by line.
pub(crate) fn sort(diags: &mut [Diagnostic]) {
    fn rank(f: &str) -> u8 {
        match f {
            "ha.cf" => 0,
            "haresources" => 1,
            "authkeys" => 2,
            _ => 3,
        }
    }
    diags.sort_by(|a, b| (rank(&a.file), &a.file, a.line).cmp(&(rank(&b.file), &b.file, b.line)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_order() {
        let e = Diagnostic::error("ha.cf", Some(12), "unknown directive 'frobnicate'");
        assert_eq!(e.to_string(), "ha.cf:12: unknown directive 'frobnicate'");
        let f = Diagnostic::error("authkeys", None, "mode 0644, must be 0600");
        assert_eq!(f.to_string(), "authkeys: mode 0644, must be 0600");
        let errs = ConfigErrors(vec![e.clone(), f.clone()]);
        assert_eq!(
            errs.to_string(),
            "ha.cf:12: unknown directive 'frobnicate'\nauthkeys: mode 0644, must be 0600\n"
        );
        let mut v = vec![
            f.clone(),
            Diagnostic::warning("haresources", Some(2), "w"),
            e.clone(),
            Diagnostic::error("ha.cf", None, "whole"),
            Diagnostic::error("ha.cf", Some(3), "three"),
        ];
        sort(&mut v);
        let m: Vec<&str> = v.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            m,
            [
                "whole",
                "three",
                "unknown directive 'frobnicate'",
                "w",
                "mode 0644, must be 0600"
            ]
        );
        assert!(!e.with_severity(Severity::Warning).is_error());
    }
}
