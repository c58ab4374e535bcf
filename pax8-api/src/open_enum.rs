//! The macro behind every generated enum: known values as variants, anything else kept in
//! `Unknown(String)`, so a value the server adds later decodes instead of failing a whole page.

/// Defines an open string enum. Used by the generated modules; not part of the public API.
#[macro_export]
#[doc(hidden)]
macro_rules! open_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident = $value:literal $(| $alias:literal)*,)* }) => {
        $(#[$meta])*
        ///
        /// Open enum: a value this version does not know is kept as `Unknown`.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`", $value, "`")]
                $variant,
            )*
            /// A value not in the specification this crate was generated from.
            Unknown(::std::string::String),
        }

        /// The empty value (`Unknown("")`), which the server never sends: it only fills a
        /// generated struct built with `..Default::default()`.
        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self::Unknown(::std::string::String::new())
            }
        }

        impl $name {
            /// The documented values.
            pub const KNOWN: &'static [&'static str] = &[$($value),*];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// False for `Unknown`.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($value $(| $alias)* => Self::$variant,)*
                    // The server is not consistent about case and separators ("Flat" for
                    // "flat", "One-time" for "One-Time"): those still name the known value.
                    other => {
                        $(
                            if [$value $(, $alias)*].iter().any(|known| $crate::open_enum::same_word(known, other)) {
                                return Self::$variant;
                            }
                        )*
                        Self::Unknown(other.to_string())
                    }
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(value: ::std::string::String) -> Self {
                match Self::from(value.as_str()) {
                    Self::Unknown(_) => Self::Unknown(value),
                    known => known,
                }
            }
        }

        impl ::std::convert::From<&$name> for $name {
            fn from(value: &$name) -> Self {
                value.clone()
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(value))
            }
        }
    };
}

/// Whether `a` and `b` are the same word ignoring ASCII case and every character that is not a
/// letter or digit (`"One-time"`, `"ONE_TIME"` and `"One-Time"` are). Used by [`open_enum!`].
#[doc(hidden)]
pub fn same_word(a: &str, b: &str) -> bool {
    let letters =
        |s: &str| s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect::<Vec<_>>();
    let (a, b) = (letters(a), letters(b));
    !a.is_empty() && a == b
}

#[cfg(test)]
mod tests {
    crate::open_enum! {
        /// Test enum.
        pub enum Term {
            Monthly = "Monthly",
            X2Year = "2-Year" | "2 Year",
        }
    }

    #[test]
    fn known_and_unknown_values_round_trip() {
        let known: Term = serde_json::from_str("\"2-Year\"").unwrap();
        assert_eq!(known, Term::X2Year);
        let alias: Term = serde_json::from_str("\"2 Year\"").unwrap();
        assert_eq!(alias, Term::X2Year);
        assert_eq!(alias.to_string(), "2-Year");
        let unknown: Term = serde_json::from_str("\"Biennial\"").unwrap();
        assert_eq!(unknown, Term::Unknown("Biennial".into()));
        assert!(!unknown.is_known());
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"Biennial\"");
        assert_eq!(serde_json::to_string(&Term::Monthly).unwrap(), "\"Monthly\"");
        assert_eq!("Monthly".parse::<Term>().unwrap(), Term::Monthly);
        assert_eq!(Term::X2Year.to_string(), "2-Year");
        assert_eq!(Term::KNOWN, ["Monthly", "2-Year"]);
    }

    #[test]
    fn case_and_separators_do_not_make_a_known_value_unknown() {
        for wire in ["monthly", "MONTHLY", "2-year", "2_YEAR", "2year"] {
            let term: Term = serde_json::from_str(&format!("\"{wire}\"")).unwrap();
            assert!(term.is_known(), "{wire}");
        }
        // The canonical spelling goes back out.
        assert_eq!(Term::from("2_year").to_string(), "2-Year");
        for other in ["", "-", "Month", "Monthlyy", "2-Years"] {
            assert_eq!(Term::from(other), Term::Unknown(other.into()), "{other:?}");
        }
        assert!(super::same_word("One-time", "One-Time"));
        assert!(!super::same_word("", ""));
        assert!(!super::same_word("a", "b"));
    }
}
