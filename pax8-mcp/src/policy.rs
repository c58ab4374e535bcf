//! Per-tool policy: `auto` (the tool runs when called), `approve` (a write needs the
//! single-use token of its preview, which a person confirms), `deny` (the tool is not offered).
//!
//! A policy file (`--policy FILE`) is TOML, one `tool = "auto" | "approve" | "deny"` per line
//! under `[tools]`:
//!
//! ```toml
//! [tools]
//! order_execute = "approve"
//! subscription_cancel_execute = "deny"
//! invoices_list = "auto"
//! ```
//!
//! Tools the file does not name get the defaults: reads `auto`, writes `approve`. Without a file,
//! reads are `auto` and writes `deny` unless `--allow-writes` (then `approve`). A name that is
//! no tool is an error listing the tools. For a read or a preview, `approve` is the same as
//! `auto`: they change nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// What happens when a tool is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Runs when called.
    Auto,
    /// A write runs only with the confirmation token of its preview.
    Approve,
    /// Not offered; a call is refused.
    Deny,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Auto => "auto",
            Decision::Approve => "approve",
            Decision::Deny => "deny",
        })
    }
}

/// The policy of every tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    decisions: BTreeMap<String, Decision>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    tools: BTreeMap<String, Decision>,
}

impl Policy {
    /// Reads come `auto`; writes `approve` when `allow_writes`, else `deny`.
    pub fn defaults(reads: &[&str], writes: &[&str], allow_writes: bool) -> Policy {
        let write = if allow_writes { Decision::Approve } else { Decision::Deny };
        let decisions = reads
            .iter()
            .map(|t| (t.to_string(), Decision::Auto))
            .chain(writes.iter().map(|t| (t.to_string(), write)))
            .collect();
        Policy { decisions }
    }

    /// A policy file's text over the file defaults (reads `auto`, writes `approve`).
    pub fn from_toml(text: &str, reads: &[&str], writes: &[&str]) -> Result<Policy, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| format!("policy file: {e}"))?;
        let mut policy = Policy::defaults(reads, writes, true);
        for (tool, decision) in file.tools {
            match policy.decisions.get_mut(&tool) {
                Some(slot) => *slot = decision,
                None => {
                    let known: Vec<&str> = policy.decisions.keys().map(String::as_str).collect();
                    return Err(format!("policy file: `{tool}` is not a tool; the tools are: {}", known.join(", ")));
                }
            }
        }
        Ok(policy)
    }

    /// The decision for `tool`; a tool the policy does not know is denied.
    pub fn decision(&self, tool: &str) -> Decision {
        self.decisions.get(tool).copied().unwrap_or(Decision::Deny)
    }

    /// The sentence a tool's description ends with.
    pub fn describe(decision: Decision, is_write: bool) -> &'static str {
        match (decision, is_write) {
            (Decision::Deny, _) => "Policy: deny (not offered).",
            (_, false) => "Policy: auto (runs when called; changes nothing).",
            (Decision::Auto, true) => "Policy: auto (runs when called; the confirmation token is optional).",
            (Decision::Approve, true) => {
                "Policy: approve (needs the confirmation_token of its preview, shown to the user first)."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READS: [&str; 2] = ["companies_list", "order_preview"];
    const WRITES: [&str; 2] = ["order_execute", "subscription_cancel_execute"];

    #[test]
    fn defaults_without_a_file_deny_writes_unless_allowed() {
        let closed = Policy::defaults(&READS, &WRITES, false);
        assert_eq!(closed.decision("companies_list"), Decision::Auto);
        assert_eq!(closed.decision("order_execute"), Decision::Deny);
        let open = Policy::defaults(&READS, &WRITES, true);
        assert_eq!(open.decision("order_execute"), Decision::Approve);
        assert_eq!(open.decision("not_a_tool"), Decision::Deny);
    }

    #[test]
    fn a_file_overrides_its_defaults_and_refuses_unknown_tools() {
        let policy = Policy::from_toml(
            "[tools]\norder_execute = \"auto\"\nsubscription_cancel_execute = \"deny\"\n",
            &READS,
            &WRITES,
        )
        .unwrap();
        assert_eq!(policy.decision("order_execute"), Decision::Auto);
        assert_eq!(policy.decision("subscription_cancel_execute"), Decision::Deny);
        assert_eq!(policy.decision("companies_list"), Decision::Auto);
        let empty = Policy::from_toml("", &READS, &WRITES).unwrap();
        assert_eq!(empty.decision("order_execute"), Decision::Approve, "a file's default for writes");
        let err = Policy::from_toml("[tools]\norder_exec = \"auto\"\n", &READS, &WRITES).unwrap_err();
        assert!(err.contains("`order_exec` is not a tool") && err.contains("order_execute"), "{err}");
        let err = Policy::from_toml("[tools]\norder_execute = \"sometimes\"\n", &READS, &WRITES).unwrap_err();
        assert!(err.contains("auto") || err.contains("unknown variant"), "{err}");
        assert!(Policy::from_toml("[tool]\n", &READS, &WRITES).is_err(), "a misspelt table is refused");
    }

    #[test]
    fn descriptions_say_what_applies() {
        assert!(Policy::describe(Decision::Approve, true).contains("confirmation_token"));
        assert!(Policy::describe(Decision::Auto, true).contains("optional"));
        assert!(Policy::describe(Decision::Approve, false).contains("auto"));
        assert!(Policy::describe(Decision::Deny, false).contains("deny"));
        assert_eq!(Decision::Approve.to_string(), "approve");
    }
}
