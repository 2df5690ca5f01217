//! Enums with string forms (config values, JSON, database columns), each
//! written once. [`string_enum!`] generates `as_str`, `ALL`, `Display`,
//! `FromStr` and serde from one table, so the config loader, the JSON output,
//! SQL binding and parsing stored rows can never disagree.

/// Defines an enum and its string table:
///
/// ```ignore
/// string_enum! {
///     /// Doc of the enum.
///     #[derive(Default)]
///     pub enum CallStatus ("call status") {
///         Forthcoming = "forthcoming",
///         #[default]
///         Unknown = "unknown",
///     }
/// }
/// ```
///
/// The name in parentheses words the error of `FromStr`: "unknown call status
/// 'x' (known: forthcoming, unknown)".
/// What [`string_enum!`] generates, for code generic over such enums (the
/// config loader's "one of these words" check).
pub trait StringEnum: Copy + 'static {
    /// Every variant, in declaration order.
    fn all() -> &'static [Self];
    /// The string form used in config, JSON and the database.
    fn name(self) -> &'static str;
}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string form used in config, JSON and the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Every string form, in declaration order.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl $crate::model::StringEnum for $name {
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    format!("unknown {} '{s}' (known: {})", $what, Self::names().join(", "))
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                s.parse().map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use string_enum;

#[cfg(test)]
mod tests {

    string_enum! {
        #[derive(Default)]
        enum Colour ("colour") {
            Red = "red",
            #[default]
            DarkBlue = "dark-blue",
        }
    }

    #[test]
    fn one_table_serves_str_parse_and_serde() {
        assert_eq!(Colour::DarkBlue.as_str(), "dark-blue");
        assert_eq!("red".parse::<Colour>(), Ok(Colour::Red));
        assert_eq!(
            "green".parse::<Colour>().unwrap_err(),
            "unknown colour 'green' (known: red, dark-blue)"
        );
        assert_eq!(serde_json::to_string(&Colour::DarkBlue).unwrap(), "\"dark-blue\"");
        assert_eq!(serde_json::from_str::<Colour>("\"red\"").unwrap(), Colour::Red);
        assert!(serde_json::from_str::<Colour>("\"Red\"").is_err());
        assert_eq!(Colour::default(), Colour::DarkBlue);
        for c in Colour::ALL {
            assert_eq!(c.to_string().parse::<Colour>(), Ok(*c));
        }
    }
}
