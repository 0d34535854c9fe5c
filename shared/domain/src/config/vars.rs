//! How a section reads its variables: one lookup (the environment, or a map in tests),
//! blank values treated as unset, every parse failure naming its variable.

use secrecy::SecretString;
use std::str::FromStr;

use url::Url;

/// Why a configuration was refused: the variable, and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} is required in production")]
    Missing { name: &'static str },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The variables of one load.
pub struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    pub production: bool,
}

impl<'a> Vars<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            production: false,
        }
    }

    /// A variable, `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A secret's variable: kept wrapped, so no `Debug` of the configuration shows it.
    pub fn secret(&self, name: &str) -> Option<SecretString> {
        self.get(name).map(SecretString::from)
    }

    /// A variable production must set; elsewhere `default`.
    pub fn required_in_production(
        &self,
        name: &'static str,
        default: &str,
    ) -> Result<String, ConfigError> {
        match self.get(name) {
            Some(value) => Ok(value),
            None if self.production => Err(ConfigError::Missing { name }),
            None => Ok(default.to_string()),
        }
    }

    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self
            .get(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::Invalid {
                name,
                reason: format!("`{other}` is not true or false"),
            }),
        }
    }

    pub fn number<T: FromStr + Copy>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("`{raw}` is not a positive integer"),
            }),
        }
    }

    /// A timeout in milliseconds.
    pub fn millis(
        &self,
        name: &'static str,
        default: u64,
    ) -> Result<std::time::Duration, ConfigError> {
        Ok(std::time::Duration::from_millis(
            self.number(name, default)?,
        ))
    }

    pub fn url(&self, name: &'static str) -> Result<Option<Url>, ConfigError> {
        self.get(name)
            .map(|raw| {
                Url::parse(&raw).map_err(|e| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// A comma list, each item trimmed and passed through `each`, empty items dropped.
    pub fn list(&self, name: &str, each: impl Fn(&str) -> String) -> Vec<String> {
        self.get(name)
            .unwrap_or_default()
            .split(',')
            .map(|item| each(item.trim()))
            .filter(|item| !item.is_empty())
            .collect()
    }
}
