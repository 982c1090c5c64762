//! `wire_newtype!`: a protocol number as a newtype with named constants. Unknown values
//! round-trip unchanged (the server is liberal in values), and `Debug` prints the name when
//! there is one.

/// Declares `pub struct $name(pub $repr)` with associated constants and a `name()` lookup.
#[macro_export]
macro_rules! wire_newtype {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $cname:ident = $value:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $repr);

        #[allow(missing_docs)]
        impl $name {
            $( $(#[$cmeta])* pub const $cname: $name = $name($value); )*

            /// The spec name of this value, if it is one we know.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$cname => Some(stringify!($cname)), )*
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!(stringify!($name), "({:#x})"), self.0),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(self, f)
            }
        }
    };
}
