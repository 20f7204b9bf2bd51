//! Values of a `/proc` file read by typed names: `/proc/meminfo` and `/proc/PID/status`
//! print `Key: value` lines, and the code looks a handful of them up. A misspelt string
//! key found nothing (and a lookup then read 0 or reported the field missing); a misspelt
//! variant does not compile. The parsers keep every key they meet.

use std::collections::BTreeMap;
use std::marker::PhantomData;

/// A `Key: value` line as its key and value, trimmed; `None` for a line without a colon.
pub fn key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    Some((key.trim(), value.trim()))
}

/// A set of keys of one `/proc` file, each with the name the kernel prints.
pub trait ProcKey: Copy {
    /// The file, for errors: `/proc/meminfo`.
    const FILE: &'static str;
    fn name(self) -> &'static str;
}

/// Declares a set of keys: an enum, each variant with the name the kernel prints, and its
/// [`ProcKey`] implementation.
macro_rules! proc_keys {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $file:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $key:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $crate::kernel::named::ProcKey for $name {
            const FILE: &'static str = $file;

            fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $key, )+
                }
            }
        }
    };
}
pub(crate) use proc_keys;

/// One read of a `/proc` file: its values by the name the kernel printed, looked up by `K`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named<K, V> {
    values: BTreeMap<String, V>,
    keys: PhantomData<K>,
}

impl<K: ProcKey, V: Copy> Named<K, V> {
    /// The value; `None` where this kernel does not print it.
    pub fn get(&self, key: K) -> Option<V> {
        self.values.get(key.name()).copied()
    }

    /// The value, or an error that names the key and the file.
    pub fn require(&self, key: K) -> Result<V, String> {
        self.get(key)
            .ok_or_else(|| format!("{} has no {}", K::FILE, key.name()))
    }

    /// How many values of this kind the file had.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<K, V> Default for Named<K, V> {
    fn default() -> Named<K, V> {
        Named {
            values: BTreeMap::new(),
            keys: PhantomData,
        }
    }
}

impl<K, V> Named<K, V> {
    /// Keeps `value` under the name the kernel printed.
    pub fn insert(&mut self, name: &str, value: V) {
        self.values.insert(name.to_owned(), value);
    }

    /// The `Key: value` lines of `text` whose value (trimmed) `read` makes a `V` of; the
    /// other lines are left out.
    pub fn of_lines(text: &str, read: impl Fn(&str) -> Option<V>) -> Named<K, V> {
        text.lines()
            .filter_map(|line| {
                let (key, value) = key_value(line)?;
                Some((key.to_owned(), read(value)?))
            })
            .collect()
    }
}

impl<K, V> FromIterator<(String, V)> for Named<K, V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(pairs: I) -> Named<K, V> {
        Named {
            values: pairs.into_iter().collect(),
            keys: PhantomData,
        }
    }
}
