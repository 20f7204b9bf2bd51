//! The smaps fields the kernel is known to print, with their kind and first version.
