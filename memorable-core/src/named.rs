//! Enums that are named in text — by JSON, the CLI, configuration and every binding — get
//! their names, `ALL`, `Display` and `FromStr` from one list here, so a name is written once
//! and every binding parses it the same way, with the same error.

/// `named_enum!(Type, "what", Error::InvalidInput, { Variant => "name", ... })` implements
/// `Type::ALL`, `Type::as_str`, `Display` and `FromStr` (trimmed; in the exact case
/// serde and JSON read, unless `exact_case = false` as for the profile, which comes from
/// environment variables too; an
/// unknown name is the given error, listing every name). The serde names must be the same
/// (the parsing tests check it).
macro_rules! named_enum {
    ($ty:ident, $what:literal, $err:path, { $($variant:ident => $name:literal),+ $(,)? }) => {
        crate::named::named_enum!($ty, $what, $err, exact_case = true, { $($variant => $name),+ });
    };
    ($ty:ident, $what:literal, $err:path, exact_case = $exact:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            /// The name used in JSON, configuration, the CLI and every binding.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::error::Error;
            fn from_str(s: &str) -> crate::error::Result<$ty> {
                let wanted = s.trim();
                $ty::ALL.into_iter().find(|v| if $exact { v.as_str() == wanted } else { v.as_str().eq_ignore_ascii_case(wanted) }).ok_or_else(|| {
                    let names: Vec<String> = $ty::ALL.iter().map(|v| format!("{:?}", v.as_str())).collect();
                    $err(format!("{} must be one of {}, got {s:?}", $what, names.join(", ")))
                })
            }
        }
    };
}

pub(crate) use named_enum;
