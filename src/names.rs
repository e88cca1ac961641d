//! Enums whose variants have fixed names in the spec (`pki.algorithm`,
//! `formats`, `bootstrap_token.usages`): one table gives `ALL`, `from_name`,
//! `name` and `Display`, so a name is written exactly once.

/// `spec_names!(Type { Variant => "name", ... })`.
macro_rules! spec_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant with its spec name, in the order the docs list them.
            pub const ALL: [($ty, &'static str); [$($name),+].len()] =
                [$(($ty::$variant, $name)),+];

            pub fn from_name(name: &str) -> Option<$ty> {
                Self::ALL.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
            }

            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub(crate) use spec_names;
