//! The servers' config file (TOML): `--config FILE` (or `PAX8_CONFIG`), else `config.toml`
//! beside the stored credentials when there is one.
//!
//! Keys are the long flags' names (`admin-listen` or `admin_listen`) in a section per server:
//! `[webhooks]` for `webhooks serve`, `[mcp]` for `mcp`, `[worker]` for `worker`; keys outside a
//! section are the global flags (`log-format`). What a key says counts only where neither the
//! command line nor the flag's environment variable says otherwise: command line, then
//! environment, then the file, then the default. Secrets never go in the file: they come from the
//! environment (or stdin, or the vault), so a key naming one is refused with the variable to use.
//!
//! ```toml
//! log-format = "json"
//!
//! [webhooks]
//! listen = "0.0.0.0:8787"
//! db = "postgres://pax8@db/pax8"
//! admin-listen = "10.0.0.5:9464"
//! grace = "30s"
//!
//! [worker]
//! concurrency = 8
//! interval = "6h"
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};

/// The sections and the command each configures.
const SECTIONS: [(&str, &[&str]); 3] =
    [("webhooks", &["webhooks", "serve"]), ("mcp", &["mcp"]), ("worker", &["worker"])];

/// Words that mark a secret, and where the secret goes instead.
const SECRET_WORDS: [(&str, &str); 5] = [
    ("client-secret", "PAX8_CLIENT_SECRET"),
    ("master-key", "PAX8_MASTER_KEY (or key-file)"),
    ("password", "the environment, not the file"),
    ("secret", "the environment, not the file"),
    ("token", "PAX8_MCP_TOKEN or PAX8_WEBHOOK_TOKEN[_TENANT]"),
];

/// A file larger than this is refused (a config file is a few lines).
const MAX_BYTES: u64 = 1024 * 1024;

/// A config file read and checked against the commands it configures.
#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// `(section or "" for the top level, flag, its values as command-line words)`.
    entries: Vec<(String, String, Vec<String>)>,
}

/// Where the config file is: the one named (which must exist), else the default when present.
pub fn locate(named: Option<&Path>) -> Result<Option<PathBuf>, String> {
    if let Some(path) = named {
        return if path.is_file() {
            Ok(Some(path.to_path_buf()))
        } else {
            Err(format!("config file {}: not found", path.display()))
        };
    }
    let default = crate::creds::path().map_err(|f| f.message)?.with_file_name("config.toml");
    Ok(default.is_file().then_some(default))
}

/// The default place, for messages.
pub fn default_place() -> String {
    crate::creds::path().map(|p| p.with_file_name("config.toml").display().to_string()).unwrap_or_default()
}

impl ConfigFile {
    /// Reads and checks `path`: known sections, known keys, no secrets, values the flags accept.
    pub fn load(path: &Path, cli: &Command) -> Result<ConfigFile, String> {
        let at = |why: String| format!("config file {}: {why}", path.display());
        let size = std::fs::metadata(path).map_err(|e| at(e.to_string()))?.len();
        if size > MAX_BYTES {
            return Err(at(format!("{size} bytes; a config file is at most 1 MiB")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| at(e.to_string().trim_end().to_string()))?;
        let mut entries = Vec::new();
        for (key, value) in &table {
            match value {
                toml::Value::Table(section) => {
                    let Some((_, path_words)) = SECTIONS.iter().find(|(name, _)| name == key) else {
                        let known: Vec<String> = SECTIONS.iter().map(|(n, _)| format!("[{n}]")).collect();
                        return Err(at(format!("unknown section [{key}]; the sections are {}", known.join(", "))));
                    };
                    let command = leaf(cli, path_words);
                    for (key, value) in section {
                        let flag =
                            flag_of(key, value, command).map_err(|why| at(format!("[{}] {why}", path_words[0])))?;
                        entries.push((path_words[0].to_string(), flag.0, flag.1));
                    }
                }
                _ => {
                    let flag = flag_of(key, value, cli).map_err(|why| at(format!("top level: {why}")))?;
                    entries.push((String::new(), flag.0, flag.1));
                }
            }
        }
        let file = ConfigFile { path: path.to_path_buf(), entries };
        for (_, path_words) in SECTIONS {
            file.check_values(cli, path_words).map_err(at)?;
        }
        Ok(file)
    }

    /// What the file sets, for `pax8 doctor`: `[webhooks] listen, db; [worker] concurrency`.
    pub fn summary(&self) -> String {
        if self.entries.is_empty() {
            return "sets nothing".into();
        }
        let mut parts: Vec<String> = Vec::new();
        let mut sections: Vec<&str> = self.entries.iter().map(|(s, _, _)| s.as_str()).collect();
        sections.dedup();
        for section in sections {
            let keys: Vec<&str> =
                self.entries.iter().filter(|(s, _, _)| s == section).map(|(_, k, _)| k.as_str()).collect();
            let label = if section.is_empty() { "top level".to_string() } else { format!("[{section}]") };
            parts.push(format!("{label} {}", keys.join(", ")));
        }
        parts.join("; ")
    }

    /// The words the file adds to the command line of `path_words` (the top level's and its
    /// section's), except flags the command line or the environment already set.
    fn words_for(&self, cli: &Command, path_words: &[&str], given: &[&ArgMatches]) -> Vec<String> {
        let command = leaf(cli, path_words);
        let mut out = Vec::new();
        for (section, flag, words) in &self.entries {
            if !(section.is_empty() || section == path_words[0]) {
                continue;
            }
            let mut args = command.get_arguments().chain(cli.get_arguments());
            let Some(arg) = args.find(|a| a.get_long() == Some(flag.as_str())) else { continue };
            let set_elsewhere = given.iter().any(|m| {
                m.try_contains_id(arg.get_id().as_str()).unwrap_or(false)
                    && matches!(
                        m.value_source(arg.get_id().as_str()),
                        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                    )
            });
            if !set_elsewhere {
                out.extend(words.iter().cloned());
            }
        }
        out
    }

    /// Parses the section's words as its command's flags, so a bad value is found here.
    fn check_values(&self, cli: &Command, path_words: &[&str]) -> Result<(), String> {
        let words = self.words_for(cli, path_words, &[]);
        if words.is_empty() {
            return Ok(());
        }
        let argv = std::iter::once("pax8".to_string())
            .chain(path_words.iter().map(|w| w.to_string()))
            .chain(words.iter().cloned());
        match cli.clone().try_get_matches_from(argv) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => Ok(()),
            Err(e) => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default().trim_start_matches("error: ");
                Err(format!("[{}] {first}", path_words[0]))
            }
        }
    }
}

/// The subcommand `path_words` names.
fn leaf<'a>(cli: &'a Command, path_words: &[&str]) -> &'a Command {
    let mut command = cli;
    for word in path_words {
        command = command.find_subcommand(word).expect("a section names a subcommand");
    }
    command
}

/// The flag `key` names on `command` and the command-line words `value` becomes.
fn flag_of(key: &str, value: &toml::Value, command: &Command) -> Result<(String, Vec<String>), String> {
    let flag = key.replace('_', "-");
    if flag == "config" {
        return Err("`config` names the file itself: give it with --config or PAX8_CONFIG".into());
    }
    if let Some((_, instead)) = SECRET_WORDS.iter().find(|(word, _)| flag.contains(word)) {
        return Err(format!("`{key}` looks like a secret, which never goes in a file: use {instead}"));
    }
    let Some(arg) = command.get_arguments().find(|a| a.get_long() == Some(flag.as_str())) else {
        let mut known: Vec<&str> = command
            .get_arguments()
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version" | "config"))
            .filter_map(|a| a.get_long())
            .collect();
        known.sort_unstable();
        return Err(format!("unknown key `{key}`; the keys are {}", known.join(", ")));
    };
    let words = |value: &toml::Value| -> Result<Vec<String>, String> {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(on) => {
                return match arg.get_action() {
                    ArgAction::SetTrue => Ok(if *on { vec![format!("--{flag}")] } else { Vec::new() }),
                    _ => Err(format!("`{key}` takes a value, not true or false")),
                };
            }
            other => return Err(format!("`{key}` is a {}; give a string, a whole number or true", other.type_str())),
        };
        if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::Count) {
            return Err(format!("`{key}` is a switch: true or false"));
        }
        Ok(vec![format!("--{flag}={text}")])
    };
    let out = match value {
        toml::Value::Array(items) if matches!(arg.get_action(), ArgAction::Append) => {
            items.iter().map(words).collect::<Result<Vec<_>, _>>()?.concat()
        }
        toml::Value::Array(_) => return Err(format!("`{key}` takes one value, not a list")),
        one => words(one)?,
    };
    Ok((flag, out))
}

/// The command line with the config file's words added (for a server command), or unchanged.
pub fn apply(argv: Vec<OsString>, cli: &Command) -> Result<Vec<OsString>, String> {
    // A lenient first pass: which command runs, which file, and what the command line and the
    // environment already set (a flag the file provides may be missing here).
    let Ok(matches) = cli.clone().ignore_errors(true).try_get_matches_from(argv.clone()) else { return Ok(argv) };
    let mut path_words: Vec<&str> = Vec::new();
    let mut leaf_matches = &matches;
    let mut command = cli;
    while let Some((name, sub)) = leaf_matches.subcommand() {
        let Some(found) = command.find_subcommand(name) else { break };
        path_words.push(found.get_name());
        command = found;
        leaf_matches = sub;
    }
    let Some((_, words)) = SECTIONS.iter().find(|(_, words)| *words == path_words.as_slice()) else {
        return Ok(argv);
    };
    let named = matches.try_get_one::<PathBuf>("config").ok().flatten().cloned();
    let Some(path) = locate(named.as_deref())? else { return Ok(argv) };
    let file = ConfigFile::load(&path, cli)?;
    let mut argv = argv;
    argv.extend(file.words_for(cli, words, &[&matches, leaf_matches]).into_iter().map(OsString::from));
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> Command {
        <crate::Cli as clap::CommandFactory>::command()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn applied(text: &str, args: &[&str]) -> Result<Vec<String>, String> {
        let (_dir, path) = file(text);
        let mut argv: Vec<OsString> = vec!["pax8".into(), "--config".into(), path.clone().into()];
        argv.extend(args.iter().map(OsString::from));
        let out = apply(argv, &cli())?;
        Ok(out.into_iter().skip(3).map(|w| w.into_string().unwrap()).collect())
    }

    #[test]
    fn the_file_fills_in_what_the_command_line_does_not_say() {
        let text = "log-format = \"json\"\n[webhooks]\nlisten = \"127.0.0.1:8787\"\nadmin_listen = \"off\"\n\
                    grace = \"30s\"\ntenant = [\"a\", \"b\"]\n[worker]\nconcurrency = 8\nuntil-idle = true\n";
        let words = applied(text, &["webhooks", "serve", "--grace", "5s"]).unwrap();
        assert_eq!(
            words,
            [
                "webhooks",
                "serve",
                "--grace",
                "5s",
                "--log-format=json",
                "--admin-listen=off",
                "--listen=127.0.0.1:8787",
                "--tenant=a",
                "--tenant=b"
            ]
        );
        let words = applied(text, &["worker"]).unwrap();
        assert_eq!(words, ["worker", "--log-format=json", "--concurrency=8", "--until-idle"]);
        // Another command does not read the file at all (a broken one does not stop it).
        assert_eq!(applied("[nonsense", &["companies", "list"]).unwrap(), ["companies", "list"]);
        // The result parses.
        let (_dir, path) = file(text);
        let argv = apply(vec!["pax8".into(), "--config".into(), path.into(), "worker".into()], &cli()).unwrap();
        let parsed = <crate::Cli as clap::Parser>::try_parse_from(argv).unwrap();
        let crate::Command::Worker(worker) = parsed.command else { panic!("worker") };
        assert_eq!(worker.concurrency, 8);
        assert!(worker.until_idle);
    }

    #[test]
    fn bad_files_are_refused_with_what_to_do() {
        let err = |text: &str| {
            let (_dir, path) = file(text);
            ConfigFile::load(&path, &cli()).unwrap_err()
        };
        assert!(
            err("[mcp]\ntoken = \"abc\"\n")
                .contains("`token` looks like a secret, which never goes in a file: use PAX8_MCP_TOKEN")
        );
        assert!(err("[worker]\nclient_secret = \"x\"\n").contains("PAX8_CLIENT_SECRET"));
        let unknown = err("[worker]\nconcurency = 8\n");
        assert!(unknown.contains("[worker] unknown key `concurency`; the keys are "), "{unknown}");
        assert!(unknown.contains("concurrency"), "{unknown}");
        assert!(
            err("[sync]\ndb = \"x\"\n")
                .contains("unknown section [sync]; the sections are [webhooks], [mcp], [worker]")
        );
        assert!(err("[worker]\nconcurrency = 0\n").contains("[worker]"));
        assert!(err("[worker]\nconcurrency = \"many\"\n").contains("many"));
        assert!(err("[worker]\nuntil-idle = \"yes\"\n").contains("is a switch"));
        assert!(err("[mcp]\nhttp = true\n").contains("takes a value"));
        assert!(err("[mcp]\nhttp = [\"a\"]\n").contains("one value, not a list"));
        assert!(err("[mcp]\nhttp = 1.5\n").contains("is a float"));
        assert!(err("[worker\n").contains("config file"));
        let missing = locate(Some(Path::new("/nonexistent/pax8.toml"))).unwrap_err();
        assert_eq!(missing, "config file /nonexistent/pax8.toml: not found");
    }

    #[test]
    fn a_file_of_more_than_one_mib_is_refused() {
        let comment = |bytes: usize| format!("#{}\n", "x".repeat(bytes - 2));
        let (_dir, path) = file(&comment(1024 * 1024));
        assert_eq!(ConfigFile::load(&path, &cli()).unwrap().summary(), "sets nothing", "exactly 1 MiB is read");
        let (_dir, path) = file(&comment(1024 * 1024 + 1));
        assert!(ConfigFile::load(&path, &cli()).unwrap_err().contains("1048577 bytes; a config file is at most 1 MiB"));
    }

    #[test]
    fn the_summary_names_what_is_set() {
        let (_dir, path) = file("log-format = \"json\"\n[worker]\nconcurrency = 8\ninterval = \"1h\"\n[mcp]\n");
        let loaded = ConfigFile::load(&path, &cli()).unwrap();
        assert_eq!(loaded.summary(), "top level log-format; [worker] concurrency, interval");
        let (_dir, path) = file("");
        assert_eq!(ConfigFile::load(&path, &cli()).unwrap().summary(), "sets nothing");
    }
}
